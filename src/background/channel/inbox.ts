/**
 * Incoming entries from the gateway. Each is processed under its conversation's lock and its
 * effects (new group state, stored message, dedup mark) are written in ONE IndexedDB
 * transaction before the caller acknowledges it to the gateway: a crash before the write
 * means the gateway redelivers; a crash after means the dedup mark skips it.
 */
import type { InboxEntry } from '../../wire/protocol';
import { toHex } from '../../wire/bytes';
import type { ConversationRecord, MessageRecord, SeenRecord, DeliveryState } from './db';
import { readCredential } from './credentials';
import { epochOf, isGroup, joinFromWelcome, messageHeader, processIncoming, welcomeRefs, MlsOpError } from './mls';
import { receivedView, retract, speculate, type Speculation } from './speculation';
import { decodePayload, PayloadError } from './payload';
import { keyPackageAad } from './identity';
import { openPending, writeConversation } from './commits';
import { holdReason, knownIdentities, unverifiedMember } from './admission';
import type { DeviceRevocation } from '../../wire/identity';
import { revocationAddress, revocationEffect, revocationIgnored, revocationVerifies } from './revocations';
import type { ClientState } from 'ts-mls';
import {
  authConfig,
  explain,
  hubEpochOf,
  loadConversation,
  memberPeople,
  personOf,
  sealBody,
  sealState,
  unb64,
  type EngineContext,
  type MessageBody,
  type Person,
} from './context';

const RANK: Record<DeliveryState, number> = { queued: 0, sent: 1, partner: 2, delivered: 3 };

export async function processEntry(ctx: EngineContext, e: InboxEntry): Promise<void> {
  // A receipt needs of the conversation only its hub, and a conversation keeps its hub: the
  // record as this engine last wrote it answers that without a transaction of its own (two
  // receipts come back for every message sent). Any other hub is checked against the store.
  if (e.kind === 'receipt' && ctx.records.get(e.conversationId)?.hub === e.hub) return applyReceipt(ctx, e);
  const spec = speculate(ctx, e);
  // both reads at once, in one transaction: each round trip and each transaction costs
  const tx = ctx.db.transaction(['conversations', 'seen', 'messages']);
  const [known, wasSeen, held] = await Promise.all([
    tx.objectStore('conversations').get(e.conversationId),
    e.kind === 'receipt' ? undefined : tx.objectStore('seen').get([e.conversationId, e.messageId]),
    // a message record under this id already (e.g. transferred by the browser that linked this one)
    e.kind === 'application' ? tx.objectStore('messages').getKey([e.conversationId, e.messageId]) : undefined,
  ]);
  if (known && e.hub !== known.hub) {
    // Only the conversation's hub orders it. Not marked as seen: a forger must not be able to
    // burn the id of a message the real hub will deliver.
    await report(ctx, known, new MlsOpError('wrong_hub', `an entry from ${e.hub} for a conversation hosted by ${known.hub} was dropped`));
    // never shown early (speculation.ts checks the hub too); settled before the next entry
    return retract(ctx, spec);
  }
  if (e.kind === 'receipt') return applyReceipt(ctx, e);
  if (wasSeen) return retract(ctx, spec);
  const seen: SeenRecord = { conversationId: e.conversationId, messageId: e.messageId, at: ctx.now().getTime() };
  try {
    if (e.kind === 'welcome') await onWelcome(ctx, e, seen);
    else if (!(await onHandshakeOrApplication(ctx, e, seen, known, held !== undefined, spec))) await retract(ctx, spec);
  } catch (err) {
    // unprocessable for good (forged, undecryptable, too old, rejected credential): remember
    // it as seen so it is acknowledged once and never retried, and tell the UI. Never fatal:
    // an invalid commit leaves the group as it was, but the hub counted it (see hubEpoch).
    // The warning makes the pages read the history again, after anything shown early.
    await spec?.shown;
    await ctx.db.put('seen', seen);
    const error = err instanceof Error ? err : new Error(String(err));
    const rec = await ctx.db.get('conversations', e.conversationId);
    if (!rec) {
      ctx.emit({ type: 'warning', conversationId: e.conversationId, error });
      return;
    }
    // a message of a later epoch: this device missed a step the others took (unless it is
    // its own commit, accepted by the hub but not yet applied here: flush finishes that one)
    const lost = err instanceof MlsOpError && err.code === 'future_epoch' && rec.status === 'active' && !rec.pending;
    await report(
      ctx,
      {
        ...rec,
        status: lost ? 'out_of_sync' : rec.status,
        hubEpoch: e.kind === 'commit' ? Math.max(hubEpochOf(rec), e.epoch + 1) : rec.hubEpoch,
      },
      error,
    );
  }
}

/** Stores the problem on the conversation (with `rec`'s other changes) and tells the UI. */
async function report(ctx: EngineContext, rec: ConversationRecord, error: Error): Promise<void> {
  const code = (error as { code?: unknown }).code;
  await ctx.db.put('conversations', {
    ...rec,
    warning: { code: typeof code === 'string' ? code : error.name, message: error.message, at: ctx.now().getTime() },
  });
  ctx.emit({ type: 'warning', conversationId: rec.id, error });
}

async function onWelcome(ctx: EngineContext, e: InboxEntry, seen: SeenRecord): Promise<void> {
  const existing = await ctx.db.get('conversations', e.conversationId);
  const bytes = unb64(e.payload ?? '');
  const refs = welcomeRefs(bytes).map(toHex);
  let kpRec;
  for (const r of refs) if ((kpRec = await ctx.db.get('keyPackages', r))) break;
  // a device that was removed or lost sync rejoins through a fresh Welcome (a member re-adds it)
  if ((existing && existing.status === 'active') || !kpRec) {
    await ctx.db.put('seen', seen); // not for us, or already joined
    return;
  }
  const { config, failures } = authConfig(ctx);
  let state;
  try {
    state = await joinFromWelcome(bytes, await ctx.ks.open(kpRec.secret, keyPackageAad(kpRec.ref)), config);
  } catch (err) {
    throw explain(err, failures);
  }
  // a Welcome into another group under this conversation's name would mix two groups
  if (!isGroup(state, e.conversationId)) throw new MlsOpError('wrong_group', 'the Welcome is for another group than its conversation');
  const now = ctx.now().getTime();
  const rec: ConversationRecord = {
    id: e.conversationId,
    hub: e.hub,
    epoch: epochOf(state),
    state: await sealState(ctx, e.conversationId, state),
    pending: null,
    // the adder sends the Welcome at the hub's count after its commit
    status: 'active',
    warning: null,
    createdAt: existing?.createdAt ?? now,
    lastActivity: now,
    unread: existing?.unread ?? 0,
    hubEpoch: Math.max(e.epoch, epochOf(state)),
  };
  const sender = memberPeople(state).find((m) => m.address === e.sender);
  const body: MessageBody = { sender: sender ?? ctx.self, event: { kind: 'joined', who: [ctx.self] } };
  const msg: MessageRecord = {
    conversationId: rec.id,
    id: `${e.messageId}.j`,
    at: now,
    direction: 'event',
    body: await sealBody(ctx, rec.id, `${e.messageId}.j`, body),
    state: null,
    seq: e.seq,
  };
  const tx = ctx.db.transaction(['conversations', 'messages', 'seen', 'keyPackages'], 'readwrite');
  await tx.objectStore('conversations').put(rec);
  await tx.objectStore('messages').put(msg);
  await tx.objectStore('seen').put(seen);
  // one-time key packages are single use (RFC 9420 section 16.8); the last-resort one stays
  if (!kpRec.lastResort) await tx.objectStore('keyPackages').delete(kpRec.ref);
  await tx.done;
  ctx.cache.set(rec.id, state);
  ctx.records.set(rec.id, rec);
  ctx.emit({ type: 'conversation', conversationId: rec.id });
}

async function onHandshakeOrApplication(
  ctx: EngineContext,
  e: InboxEntry,
  seen: SeenRecord,
  /** read under this lock a moment ago: not read again */
  stored: ConversationRecord | undefined,
  /** a message record with the entry's id existed at that read */
  held: boolean,
  spec?: Speculation,
): Promise<boolean> {
  // the speculation holds only if the state in memory is still the one it started from
  const usable = spec && ctx.cache.get(e.conversationId) === spec.base ? spec : undefined;
  const loaded = stored ? await loadConversation(ctx, e.conversationId, stored) : null;
  const bytes = unb64(e.payload ?? '');
  if (!loaded) {
    // e.g. the commit that added us, delivered before its Welcome; or traffic from before we joined
    await ctx.db.put('seen', seen);
    return false;
  }
  const { rec, state, failures } = loaded;
  if (rec.status === 'removed') {
    await ctx.db.put('seen', seen); // nothing to read any more; a new Welcome may re-add us
    return false;
  }
  const header = messageHeader(bytes);
  if (e.kind === 'commit' && header.epoch < state.groupContext.epoch) {
    // a commit we already are past (the one that added us)
    await ctx.db.put('conversations', { ...rec, hubEpoch: Math.max(hubEpochOf(rec), e.epoch + 1) });
    await ctx.db.put('seen', seen);
    return false;
  }
  // ts-mls would only say "cannot decrypt"; the header tells that a step is missing
  if (header.epoch > state.groupContext.epoch)
    throw new MlsOpError('future_epoch', `${e.kind} for epoch ${header.epoch}, group at ${state.groupContext.epoch}`);
  let r;
  try {
    if (usable) {
      const done = await usable.result;
      if ('err' in done) throw explain(done.err, usable.failures);
      r = done.ok;
    } else r = await processIncoming(state, bytes);
  } catch (err) {
    throw explain(err, failures);
  }
  const now = ctx.now().getTime();
  if (r.kind === 'application') {
    const cert = readCredential(r.sender.credential); // verified when the leaf joined the tree
    let payload;
    try {
      payload = decodePayload(r.message);
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err;
      // the ratchet moved: persist it even though the content is unusable
      await writeStateAndSeen(ctx, rec, r.newState, seen, null);
      throw err;
    }
    if (payload.type === 'revocation') {
      await onRevocation(ctx, rec, state, r.newState, seen, payload.statement, personOf(cert));
      return false;
    }
    const body: MessageBody = { sender: personOf(cert), payload };
    // shown already, from the decryption made while the records were read (speculation.ts)
    const pre = usable ? await usable.shown : null;
    const at = pre?.message.at ?? now;
    // the view from the body in hand: opening the record about to be sealed would only decrypt it again
    const shown = pre ?? receivedView(e, body.sender, payload, at);
    // A new message is shown while it is being stored, not after: the reader sees it one
    // IndexedDB commit sooner. The gateway is still acknowledged only after that commit, so a
    // crash in between loses nothing (the entry comes again and is decrypted from the stored
    // state), and if the write fails, processEntry's warning makes the page read the stored
    // history again. One whose id is taken (held, or a payload id other than the entry's) is
    // shown only if the write stores it (unless shown before the reads: then processEntry
    // tells the page to read the history again).
    const early = pre !== null || (!held && payload.id === e.messageId);
    if (early && !pre) ctx.emit(shown);
    const msg: MessageRecord = {
      conversationId: rec.id,
      id: payload.id,
      at,
      direction: 'in',
      body: await sealBody(ctx, rec.id, payload.id, body),
      state: null,
      seq: e.seq,
    };
    const stored = await writeStateAndSeen(ctx, { ...rec, lastActivity: at }, r.newState, seen, msg, true);
    if (stored && !early) ctx.emit(shown);
    return stored;
  }
  if (r.kind === 'proposal') {
    await writeStateAndSeen(ctx, rec, r.newState, seen, null);
    return false;
  }
  // a commit from another member: it won this epoch, so any commit of ours for it lost
  const pending = await openPending(ctx, rec);
  const retry = pending && pending.stage === 'commit' ? { stage: 'retry' as const, op: pending.op } : pending;
  const before = memberPeople(state);
  const after = r.removedSelf ? [] : memberPeople(r.newState);
  const added = after.filter((m) => !before.some((b) => b.address === m.address));
  const removed = before.filter((m) => !m.self && !after.some((a) => a.address === m.address));
  const sender = before.find((m) => m.address === e.sender) ?? ctx.self;
  // another member's client added them: this one would have held them (admission.ts), so it says so
  const known = knownIdentities(rec, state);
  const unlinked = added.flatMap((m) => {
    const reason = holdReason(unverifiedMember(r.newState, m.leafIndex), known);
    return reason
      ? [{ id: `${e.messageId}.u${m.leafIndex}`, body: { sender, event: { kind: 'added_unlinked' as const, who: [m], detail: reason } } }]
      : [];
  });
  const events = [
    ...(added.length ? [{ id: `${e.messageId}.a`, body: { sender, event: { kind: 'added' as const, who: added } } }] : []),
    ...unlinked,
    ...(removed.length ? [{ id: `${e.messageId}.r`, body: { sender, event: { kind: 'removed' as const, who: removed } } }] : []),
    ...(r.removedSelf ? [{ id: `${e.messageId}.s`, body: { sender, event: { kind: 'removed_self' as const, who: [ctx.self] } } }] : []),
  ];
  await writeConversation(
    ctx,
    {
      ...rec,
      status: r.removedSelf ? 'removed' : rec.status,
      lastActivity: now,
      hubEpoch: Math.max(hubEpochOf(rec), e.epoch + 1),
    },
    r.newState,
    r.removedSelf ? null : retry,
    events,
  );
  await ctx.db.put('seen', seen);
  ctx.emit({ type: 'conversation', conversationId: rec.id });
  return false;
}

/**
 * Persists the advanced ratchet, the seen mark and `msg` in one transaction. A received
 * message (`received`) is stored and counted unread only if no record of its id exists yet,
 * checked inside that transaction rather than by a read before it (one round trip fewer per
 * message). Returns whether `msg` was stored.
 */
async function writeStateAndSeen(
  ctx: EngineContext,
  rec: ConversationRecord,
  state: import('ts-mls').ClientState,
  seen: SeenRecord,
  msg: MessageRecord | null,
  received = false,
): Promise<boolean> {
  const sealed = await sealState(ctx, rec.id, state);
  const tx = ctx.db.transaction(['conversations', 'messages', 'seen'], 'readwrite');
  const messages = tx.objectStore('messages');
  const store = msg !== null && !(received && (await messages.getKey([msg.conversationId, msg.id])) !== undefined);
  const unread = rec.unread + (received && store ? 1 : 0);
  const next = { ...rec, state: sealed, epoch: epochOf(state), unread };
  await tx.objectStore('conversations').put(next);
  if (store) await messages.put(msg);
  await tx.objectStore('seen').put(seen);
  await tx.done;
  ctx.cache.set(rec.id, state);
  ctx.records.set(rec.id, next);
  return store;
}

async function applyReceipt(ctx: EngineContext, e: InboxEntry): Promise<void> {
  const status = e.receipt?.status;
  if (status !== 'partner' && status !== 'delivered') return;
  // a receipt counts only if who vouches for it is in the group: the device itself, or for
  // 'partner' an org with a member in it (the gateways check this too; the group is the truth)
  // the group as this engine holds it; the record is read only when it is not in memory
  const state = ctx.cache.get(e.conversationId) ?? (await loadConversation(ctx, e.conversationId))?.state;
  if (!state) return;
  const by = e.receipt!.by;
  const people = memberPeople(state);
  if (!people.some((m) => (status === 'delivered' ? m.address === by : m.orgDomain === by))) {
    // told, not stored on the conversation: a device removed a moment ago may send a late one
    ctx.emit({
      type: 'warning',
      conversationId: e.conversationId,
      error: new MlsOpError('not_member', `a '${status}' receipt from ${by.slice(0, 320)}, who is not in the conversation, was dropped`),
    });
    return;
  }
  const tx = ctx.db.transaction('messages', 'readwrite');
  const m = await tx.store.get([e.conversationId, e.messageId]);
  if (m && m.direction === 'out' && RANK[status] > RANK[m.state ?? 'queued']) await tx.store.put({ ...m, state: status });
  await tx.done;
  if (m && m.direction === 'out') ctx.emit({ type: 'delivery', conversationId: e.conversationId, messageId: e.messageId, state: status });
}

export { MlsOpError };

/**
 * A signed revocation relayed by a member (revocations.ts): verified, recorded so the device
 * is never added again, shown as removed (once, however many members relay it), and the
 * device removed from the group if it still is in it.
 */
async function onRevocation(
  ctx: EngineContext,
  rec: ConversationRecord,
  state: ClientState,
  newState: ClientState,
  seen: SeenRecord,
  statement: DeviceRevocation,
  sender: Person,
): Promise<void> {
  const known = rec.revoked?.includes(revocationAddress(statement)) ?? false;
  if (known || !(await revocationVerifies(ctx, rec, state, statement))) {
    await writeStateAndSeen(ctx, rec, newState, seen, null);
    if (!known) revocationIgnored(ctx, rec.id, statement);
    return;
  }
  const { rec: next, event, member } = await revocationEffect(ctx, rec, state, statement, sender, `${seen.messageId}.v`);
  await writeStateAndSeen(ctx, next, newState, seen, event);
  if (member) ctx.revokedPending.add(rec.id);
}
