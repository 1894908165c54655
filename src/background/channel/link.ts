/** The authenticated connection to the company's own gateway, while there is one (connection.ts sets it). */
import type { KontorClient } from '../../wire/client';

let client: KontorClient | null = null;

export function currentClient(): KontorClient | null {
  return client;
}

export function setClient(next: KontorClient | null): void {
  client = next;
}

export function isConnected(): boolean {
  return client !== null;
}

/**
 * Why the own gateway no longer lets this browser in (its refusal, e.g. "device revoked"), once
 * it said so: the side panel shows that this browser was removed, and reconnecting stops. Not
 * stored: a restarted background is refused again on its first try and learns it anew.
 */
let removed: string | null = null;

export const removedReason = (): string | null => removed;

export function setRemoved(reason: string): void {
  removed = reason;
}
