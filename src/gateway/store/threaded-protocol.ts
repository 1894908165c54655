/** Messages between ThreadedStore (main thread) and store-worker.ts. */
import type { Delivery, HubResult, HubSubmission, RoutedEntry, Store } from './types';

export type StoreMethod = Exclude<keyof Store, 'close'>;
/** [call id, method, arguments] */
export type StoreCall = [number, StoreMethod, unknown[]];
/** [call id, fulfilled, value or {name, message}] */
export type StoreReply = [number, boolean, unknown];

/**
 * Ciphertexts the main thread already holds are not copied back: the worker drops the payload
 * of inbox entries it returns from submitToHub, storeDeliveries and storeFromPeer, and the main thread puts
 * the caller's own payload string back (the same content: the entry was made from it).
 */
export const deliveryKey = (e: { hub: string; conversationId: string; seq: number }) => `${e.hub}\n${e.conversationId}\n${e.seq}`;

/**
 * The call made once per message travels compactly: cloning an object costs a property name
 * per field, an array of plain values does not. submitToHub answers [seq, duplicate,
 * [deviceId, entryId, ...], remotePeers]: every other field of the new inbox entries is the
 * submission's own (see SqliteStore.submitToHub), so the main thread rebuilds them from the
 * arguments it still holds. (ackInbox needs nothing of the kind: it answers per receipt, not
 * per message.)
 */
type Packed = [seq: number, duplicate: boolean, local: (string | number)[], remotePeers: string[]];

type PackedSubmission = [
  conversationId: string,
  messageId: string,
  sender: string,
  kind: HubSubmission['kind'],
  epoch: number,
  payload: string,
  members: string[] | null,
  recipients: string[] | null,
  hub: string,
  now: number,
];

/** Main-thread side: a call's arguments as they cross to the worker (a submission as a flat array). */
export function encodeArgs(method: StoreMethod, args: unknown[]): unknown[] {
  if (method !== 'submitToHub') return args;
  const [s, hub, now] = args as [HubSubmission, string, number];
  return [
    s.conversationId,
    s.messageId,
    s.sender,
    s.kind,
    s.epoch,
    s.payload,
    s.members ?? null,
    s.recipients ?? null,
    hub,
    now,
  ] satisfies PackedSubmission;
}

/** Worker side: the arguments the Store method takes. */
export function decodeArgs(method: StoreMethod, args: unknown[]): unknown[] {
  if (method !== 'submitToHub') return args;
  const [conversationId, messageId, sender, kind, epoch, payload, members, recipients, hub, now] = args as PackedSubmission;
  const s: HubSubmission = { conversationId, messageId, sender, kind, epoch, payload };
  if (members !== null) s.members = members;
  if (recipients !== null) s.recipients = recipients;
  return [s, hub, now];
}

/** Worker side: the value as it crosses to the main thread. */
export function encodeResult(method: StoreMethod, value: unknown): unknown {
  if (method === 'submitToHub') {
    const r = value as HubResult;
    if (!r.ok) return r;
    return [r.seq, r.duplicate, r.local.flatMap((l) => [l.deviceId, l.entry.id]), r.remotePeers] satisfies Packed;
  }
  if (method === 'storeDeliveries' || (method === 'storeFromPeer' && value))
    for (const r of value as RoutedEntry[]) if (r.entry.kind !== 'receipt') delete r.entry.payload;
  return value;
}

/** Main-thread side: the value the Store interface promises, from what encodeResult sent. */
export function decodeResult(method: StoreMethod, args: unknown[], value: unknown): unknown {
  if (method === 'submitToHub') {
    if (!Array.isArray(value)) return value;
    const [seq, duplicate, flat, remotePeers] = value as Packed;
    const [s, hub, now] = args as [HubSubmission, string, number];
    const local: RoutedEntry[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      local.push({
        deviceId: flat[i] as string,
        entry: {
          id: flat[i + 1] as number,
          kind: s.kind,
          conversationId: s.conversationId,
          hub,
          seq,
          messageId: s.messageId,
          epoch: s.epoch,
          sender: s.sender,
          payload: s.payload,
          receivedAt: now,
        },
      });
    }
    return { ok: true, seq, duplicate, local, remotePeers } satisfies HubResult;
  }
  if (method === 'storeDeliveries' || (method === 'storeFromPeer' && value)) {
    const deliveries = (method === 'storeDeliveries' ? args[0] : args[1]) as Delivery[];
    const byKey = new Map(deliveries.map((d) => [deliveryKey(d), d.payload]));
    for (const l of value as RoutedEntry[]) if (l.entry.kind !== 'receipt') l.entry.payload = byKey.get(deliveryKey(l.entry));
  }
  return value;
}
