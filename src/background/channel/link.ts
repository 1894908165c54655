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
