/**
 * Outgoing application messages: a payload is persisted (sealed) in the outbox before it is
 * sent, and encrypted under the conversation lock with the advanced ratchet stored together
 * with the ciphertext, so a crash between encrypting and sending resends the same ciphertext.
 */
import type { ConversationRecord, MessageRecord, OutboxRecord } from './db';
import { encryptApplication, epochOf } from './mls';
import { encodePayload, type WirePayload } from './payload';
import type { ClientState } from 'ts-mls';
import { b64, loadConversation, outboxAad, sameRecord, sealBody, sealState, type EngineContext } from './context';

/** The outbox record and, if shown and text, the outgoing message record of a payload. */
async function records(
  ctx: EngineContext,
  conversationId: string,
  payload: WirePayload,
  /** the payload encoded (encodePayload) */
  bytes: Uint8Array,
  shown: boolean,
  order: number,
): Promise<{ out: OutboxRecord; msg: MessageRecord | null }> {
  // when it was written (the ms of its order), not when its turn came
  const at = Math.floor(order / 1000);
  const out: OutboxRecord = {
    conversationId,
    messageId: payload.id,
    payload: await ctx.ks.seal(bytes, outboxAad(conversationId, payload.id)),
    ciphertext: null,
    epoch: null,
    createdAt: at,
    order,
  };
  const msg: MessageRecord | null =
    shown && payload.type === 'text'
      ? {
          conversationId,
          id: payload.id,
          at,
          direction: 'out',
          body: await sealBody(ctx, conversationId, payload.id, { sender: ctx.self, payload }),
          state: 'queued',
          seq: null,
          order,
        }
      : null;
  return { out, msg };
}

/** Persists a payload in the outbox and, if shown and text, as an outgoing message record. */
export async function enqueue(
  ctx: EngineContext,
  conversationId: string,
  payload: WirePayload,
  shown: boolean,
  order: number,
): Promise<void> {
  // sealed before the transaction: an await on other work would let IndexedDB commit it early
  const { out, msg } = await records(ctx, conversationId, payload, encodePayload(payload), shown, order);
  const tx = ctx.db.transaction(['outbox', 'messages'], 'readwrite');
  await tx.objectStore('outbox').add(out);
  if (msg) await tx.objectStore('messages').put(msg);
  await tx.done;
}

/** A message sent at once: when it was written, and its position in the hub's log. */
export interface Sent {
  at: number;
  seq: number;
}

/**
 * Under the lock, when nothing is queued before it and the conversation is active with no
 * commit pending: encrypts right away and persists the outbox record WITH its ciphertext,
 * the message and the advanced ratchet in one transaction, then sends. The same records as
 * `enqueue` followed by `flushOutbox`, written once instead of twice before the first byte
 * leaves. Returns false (nothing written) when the message must wait in the queue instead.
 */

export async function encryptAndSend(
  ctx: EngineContext,
  conversationId: string,
  payload: WirePayload,
  shown: boolean,
  order: number,
): Promise<Sent | false> {
  // the records are sealed (WebCrypto, off this thread) while the rest runs
  const bytes = encodePayload(payload);
  const sealing = records(ctx, conversationId, payload, bytes, shown, order);
  sealing.catch(() => undefined); // awaited below, or not needed
  const base = ctx.cache.get(conversationId);
  if (base) return encryptThenCheck(ctx, conversationId, base, bytes, sealing, order);
  // both reads at once, in one transaction: each round trip and each transaction costs
  const tx0 = ctx.db.transaction(['conversations', 'outbox']);
  const [rec, queue] = await Promise.all([
    tx0.objectStore('conversations').get(conversationId),
    tx0.objectStore('outbox').index('byConversation').getAll(conversationId),
  ]);
  const loaded = rec ? await loadConversation(ctx, conversationId, rec) : null;
  if (loaded?.rec.status !== 'active' || loaded.rec.pending || before(queue, order)) return false;
  // the state and the record are in hand now (loadConversation put the state in memory): the
  // same one write as when they were in memory from the start
  ctx.records.set(conversationId, loaded.rec);
  return encryptThenCheck(ctx, conversationId, loaded.state, bytes, sealing, order);
}

/**
 * Whether a message of `order` must wait behind the queue: something written before it is
 * still there. One written after it (queued while this one waited for the lock) goes after it.
 */
function before(queue: OutboxRecord[], order: number): boolean {
  return queue.some((e) => e.order === undefined || e.order < order);
}

/** The queue in the order its messages were written (records from before `order` first, by seq). */
function inOrder(queue: OutboxRecord[]): OutboxRecord[] {
  return queue.sort((a, b) => (a.order ?? 0) - (b.order ?? 0) || a.seq! - b.seq!);
}

/**
 * With the conversation's state in memory (the one stored: every write of a state puts it
 * there): encrypts first, then reads the conversation and its queue INSIDE the one write
 * transaction, which goes on only if they let the message out now and that state is still the
 * conversation's; otherwise the transaction is aborted and the ciphertext dropped before
 * anything is stored or sent (ts-mls leaves the state it started from as it was). One
 * transaction per message sent instead of a read and a write.
 *
 * With the conversation's record in hand too (`ctx.records`, what this engine last wrote), the
 * writes are asked for together with the reads rather than after them, so the transaction
 * takes one round trip, and it is aborted unless the stored record is exactly that one.
 */
async function encryptThenCheck(
  ctx: EngineContext,
  conversationId: string,
  base: ClientState,
  bytes: Uint8Array,
  sealing: ReturnType<typeof records>,
  order: number,
): Promise<Sent | false> {
  const enc = await encryptApplication(base, bytes);
  const epoch = epochOf(enc.newState);
  const [{ out, msg }, sealed] = await Promise.all([sealing, sealState(ctx, conversationId, enc.newState)]);
  const hint = ctx.records.get(conversationId);
  const usable = hint?.status === 'active' && !hint.pending;
  // no await on anything but this transaction's own requests from here on, or it would commit early
  const tx = ctx.db.transaction(['conversations', 'outbox', 'messages'], 'readwrite');
  // may reject before it is awaited (an abort below): observed from the start, awaited at the end
  const done = tx.done;
  done.catch(() => undefined);
  const conversations = tx.objectStore('conversations');
  const outbox = tx.objectStore('outbox');
  const reading = Promise.all([conversations.get(conversationId), outbox.index('byConversation').getAll(conversationId)]);
  const write = (rec: ConversationRecord) => {
    // the conversation's last activity is this message: sendEntry need not touch the record again
    const next = { ...rec, state: sealed, epoch, lastActivity: out.createdAt };
    const w = Promise.all([
      conversations.put(next),
      outbox.add({ ...out, ciphertext: enc.message, epoch }),
      msg ? tx.objectStore('messages').put(msg) : null,
    ]).then(([, seq]) => ({ next, seq }));
    w.catch(() => undefined); // rejected when the transaction is aborted below
    return w;
  };
  const early = usable ? write(hint) : null;
  const [rec, queue] = await reading;
  const go = rec?.status === 'active' && !rec.pending && !before(queue, order) && ctx.cache.get(conversationId) === base;
  if (!go || (early && !sameRecord(rec, hint))) {
    tx.abort();
    await done.catch(() => undefined);
    ctx.records.delete(conversationId);
    // the record moved since this engine wrote it: the same once more, reading it first
    return go ? encryptThenCheck(ctx, conversationId, base, bytes, sealing, order) : false;
  }
  const { next, seq } = await (early ?? write(rec));
  await done;
  ctx.cache.set(conversationId, enc.newState);
  ctx.records.set(conversationId, next);
  return { at: out.createdAt, seq: await sendEntry(ctx, next.hub, { ...out, seq, ciphertext: enc.message, epoch }, false) };
}

/** Under the lock: encrypt (persisting the advanced ratchet with the ciphertext), then send. */
export async function flushOutbox(ctx: EngineContext, conversationId: string): Promise<void> {
  const entries = inOrder(await ctx.db.getAllFromIndex('outbox', 'byConversation', conversationId));
  for (let e of entries) {
    const loaded = await loadConversation(ctx, conversationId);
    if (loaded?.rec.status !== 'active') return;
    if (!e.ciphertext) {
      const plain = await ctx.ks.open(e.payload, outboxAad(conversationId, e.messageId));
      const enc = await encryptApplication(loaded.state, plain);
      e = { ...e, ciphertext: enc.message, epoch: epochOf(enc.newState) };
      const sealed = await sealState(ctx, conversationId, enc.newState);
      const tx = ctx.db.transaction(['conversations', 'outbox'], 'readwrite');
      await tx.objectStore('conversations').put({ ...loaded.rec, state: sealed, epoch: epochOf(enc.newState) });
      await tx.objectStore('outbox').put(e);
      await tx.done;
      ctx.cache.set(conversationId, enc.newState);
    }
    await sendEntry(ctx, loaded.rec.hub, e);
  }
}

/**
 * Sends an encrypted outbox entry, then marks it sent (the hub has it) and drops it from the
 * outbox; returns its position in the hub's log. `touch`: record the conversation's last
 * activity now (not needed where the write before the send already did).
 */
async function sendEntry(ctx: EngineContext, hub: string, e: OutboxRecord, touch = true): Promise<number> {
  const { conversationId } = e;
  const r = await ctx.transport.send({
    conversationId,
    hub,
    messageId: e.messageId,
    kind: 'application',
    epoch: e.epoch!,
    payload: b64(e.ciphertext!),
  });
  const tx = ctx.db.transaction(['outbox', 'messages', 'conversations'], 'readwrite');
  await tx.objectStore('outbox').delete(e.seq!);
  const m = await tx.objectStore('messages').get([conversationId, e.messageId]);
  if (m && m.state === 'queued') await tx.objectStore('messages').put({ ...m, state: 'sent', seq: r.seq });
  const c = touch ? await tx.objectStore('conversations').get(conversationId) : undefined;
  const touched = c ? { ...c, lastActivity: ctx.now().getTime() } : null;
  if (touched) await tx.objectStore('conversations').put(touched);
  await tx.done;
  if (touched) ctx.records.set(conversationId, touched);
  ctx.emit({ type: 'delivery', conversationId, messageId: e.messageId, state: 'sent' });
  return r.seq;
}
