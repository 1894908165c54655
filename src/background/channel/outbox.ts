/**
 * Outgoing application messages: a payload is persisted (sealed) in the outbox before it is
 * sent, and encrypted under the conversation lock with the advanced ratchet stored together
 * with the ciphertext, so a crash between encrypting and sending resends the same ciphertext.
 */
import type { MessageRecord, OutboxRecord } from './db';
import { encryptApplication, epochOf } from './mls';
import { encodePayload, type WirePayload } from './payload';
import { b64, loadConversation, outboxAad, sealBody, sealState, type EngineContext } from './context';

/** Persists a payload in the outbox and, if shown and text, as an outgoing message record. */
export async function enqueue(ctx: EngineContext, conversationId: string, payload: WirePayload, shown: boolean): Promise<void> {
  const bytes = encodePayload(payload);
  const at = ctx.now().getTime();
  const out: OutboxRecord = {
    conversationId,
    messageId: payload.id,
    payload: await ctx.ks.seal(bytes, outboxAad(conversationId, payload.id)),
    ciphertext: null,
    epoch: null,
    createdAt: at,
  };
  // sealed before the transaction: an await on other work would let IndexedDB commit it early
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
        }
      : null;
  const tx = ctx.db.transaction(['outbox', 'messages'], 'readwrite');
  await tx.objectStore('outbox').add(out);
  if (msg) await tx.objectStore('messages').put(msg);
  await tx.done;
}

/** Under the lock: encrypt (persisting the advanced ratchet with the ciphertext), then send. */
export async function flushOutbox(ctx: EngineContext, conversationId: string): Promise<void> {
  const entries = await ctx.db.getAllFromIndex('outbox', 'byConversation', conversationId);
  entries.sort((a, b) => a.seq! - b.seq!);
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
    const r = await ctx.transport.send({
      conversationId,
      hub: loaded.rec.hub,
      messageId: e.messageId,
      kind: 'application',
      epoch: e.epoch!,
      payload: b64(e.ciphertext!),
    });
    const tx = ctx.db.transaction(['outbox', 'messages', 'conversations'], 'readwrite');
    await tx.objectStore('outbox').delete(e.seq!);
    const m = await tx.objectStore('messages').get([conversationId, e.messageId]);
    if (m && m.state === 'queued') await tx.objectStore('messages').put({ ...m, state: 'sent', seq: r.seq });
    const c = await tx.objectStore('conversations').get(conversationId);
    if (c) await tx.objectStore('conversations').put({ ...c, lastActivity: ctx.now().getTime() });
    await tx.done;
    ctx.emit({ type: 'delivery', conversationId, messageId: e.messageId, state: 'sent' });
  }
}
