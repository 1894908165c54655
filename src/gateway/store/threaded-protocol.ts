/** Messages between ThreadedStore (main thread) and store-worker.ts. */
import type { Delivery, HubResult, HubSubmission, RoutedEntry, Store } from './types';

export type StoreMethod = Exclude<keyof Store, 'close'>;
/** [call id, method, arguments] */
export type StoreCall = [number, StoreMethod, unknown[]];
/** [call id, fulfilled, value or {name, message}] */
export type StoreReply = [number, boolean, unknown];

/**
 * Ciphertexts the main thread already holds are not copied back: the worker drops the payload
 * of inbox entries it returns from submitToHub and storeDeliveries, and the main thread puts
 * the caller's own payload string back (the same content: the entry was made from it).
 */
export const deliveryKey = (e: { hub: string; conversationId: string; seq: number }) => `${e.hub}\n${e.conversationId}\n${e.seq}`;

export function dropPayloads(method: StoreMethod, value: unknown): void {
  const routed = method === 'submitToHub' ? (value as HubResult).ok && (value as { local: RoutedEntry[] }).local
    : method === 'storeDeliveries' ? (value as RoutedEntry[]) : null;
  if (routed) for (const r of routed) delete r.entry.payload;
}

export function restorePayloads(method: StoreMethod, args: unknown[], value: unknown): void {
  if (method === 'submitToHub') {
    const r = value as HubResult;
    if (r.ok) for (const l of r.local) l.entry.payload = (args[0] as HubSubmission).payload;
  } else if (method === 'storeDeliveries') {
    const byKey = new Map((args[0] as Delivery[]).map((d) => [deliveryKey(d), d.payload]));
    for (const l of value as RoutedEntry[]) l.entry.payload = byKey.get(deliveryKey(l.entry));
  }
}
