/**
 * Commits (add / remove members) in two persisted steps, so a killed service worker neither
 * loses a commit nor sends one twice with different content:
 *   1. compose the commit and persist it as `pending` beside the unchanged current state;
 *   2. submit it (same message id on every retry, so the hub deduplicates); only when the hub
 *      accepts it does the new state replace the old; then the Welcome goes out the same way.
 * If the hub answers epoch_conflict (another member's commit won the epoch) the pending commit
 * is dropped, the caller processes the winner from the inbox and composes again.
 */
import type { ClientState } from 'ts-mls';
import { TransportError } from './transport';
import { CredentialError, checkMember } from './credentials';
import { employeeOf, heldAad, heldDevice, holdReason, knownIdentities, readHeld, type HeldDevice } from './admission';
import { commit, decodeKeyPackage, epochOf, serializeState, deserializeState, MlsOpError } from './mls';
import { newMessageId } from './payload';
import {
  authConfig,
  b64,
  explain,
  hubEpochOf,
  loadConversation,
  memberPeople,
  outOfSync,
  pendingAad,
  personOf,
  sealBody,
  sealState,
  unb64,
  type EngineContext,
  type MessageBody,
  type Person,
} from './context';
import type { ConversationRecord, MessageRecord } from './db';

export type CommitOp =
  /** `accept`: addresses a member accepted although admission.ts would hold them */
  { kind: 'add'; keyPackages: { keyPackage: string; domain: string }[]; accept?: string[] } | { kind: 'remove'; addresses: string[] };

export type PendingCommit =
  | {
      stage: 'commit';
      messageId: string;
      epoch: number;
      commit: string;
      welcome: string | null;
      members: string[];
      recipients: string[];
      newState: string;
      op: CommitOp;
    }
  | { stage: 'welcome'; messageId: string; welcome: string; recipients: string[] }
  /** lost an epoch race; compose again from `op` */
  | { stage: 'retry'; op: CommitOp };

export async function openPending(ctx: EngineContext, rec: ConversationRecord): Promise<PendingCommit | null> {
  return rec.pending ? ((await ctx.ks.openJson(rec.pending, pendingAad(rec.id))) as PendingCommit) : null;
}

export async function writeConversation(
  ctx: EngineContext,
  rec: ConversationRecord,
  state: ClientState | null,
  pending: PendingCommit | null,
  events: { id: string; body: MessageBody }[] = [],
): Promise<void> {
  const next: ConversationRecord = {
    ...rec,
    state: state ? await sealState(ctx, rec.id, state) : rec.state,
    epoch: state ? epochOf(state) : rec.epoch,
    pending: pending ? await ctx.ks.sealJson(pending, pendingAad(rec.id)) : null,
  };
  const msgs: MessageRecord[] = [];
  const at = ctx.now().getTime();
  for (const e of events)
    msgs.push({
      conversationId: rec.id,
      id: e.id,
      at,
      direction: 'event',
      body: await sealBody(ctx, rec.id, e.id, e.body),
      state: null,
      seq: null,
    });
  const tx = ctx.db.transaction(['conversations', 'messages'], 'readwrite');
  await tx.objectStore('conversations').put(next);
  for (const m of msgs) await tx.objectStore('messages').put(m);
  await tx.done;
  if (state) ctx.cache.set(rec.id, state);
}

export interface PrepareResult {
  prepared: boolean;
  rejected: CredentialError[];
  adding: Person[];
  held: HeldDevice[];
}

/** Composes the commit for `op` against the current state and persists it as pending. Under the conversation lock. */
export async function prepareCommit(ctx: EngineContext, conversationId: string, op: CommitOp): Promise<PrepareResult> {
  const loaded = await loadConversation(ctx, conversationId);
  if (!loaded) throw new MlsOpError('wrong_group', `no conversation ${conversationId}`);
  const { rec, state, failures } = loaded;
  // its commit would build on a group the others have left behind
  if (outOfSync(rec)) throw new MlsOpError('out_of_sync', 'this device lost sync with the conversation; a member must re-add it');
  const current = memberPeople(state);
  const present = new Set(current.map((m) => m.address));
  const rejected: CredentialError[] = [];
  const adding: Person[] = [];
  const add = [];
  const keep: { keyPackage: string; domain: string }[] = [];
  const known = knownIdentities(rec, state);
  const wasHeld = await readHeld(ctx, rec);
  const held = new Map(wasHeld.map((h) => [h.address, h]));
  const newlyHeld: HeldDevice[] = [];
  if (op.kind === 'add') {
    for (const k of op.keyPackages) {
      let kp;
      try {
        kp = decodeKeyPackage(unb64(k.keyPackage));
      } catch {
        rejected.push(new CredentialError('malformed', 'undecodable key package'));
        continue;
      }
      try {
        const checked = await checkMember(kp.leafNode.credential, kp.leafNode.signaturePublicKey, {
          orgKeyFor: ctx.orgKeyFor,
          now: ctx.now,
          expectDomain: k.domain,
        });
        const who = personOf(checked.certificate);
        if (present.has(who.address) || adding.some((a) => a.address === who.address)) continue;
        // a verified revocation named it (inbox.ts, ChannelEngine.revokeOwnDevice): never again
        if (rec.revoked?.includes(who.address)) continue;
        const accepted = op.accept?.includes(who.address) ?? false;
        const reason = accepted ? null : holdReason(checked, known);
        if (reason) {
          const before = held.get(who.address);
          held.set(who.address, heldDevice(checked, reason, k, ctx.now().getTime()));
          if (before?.reason !== reason) newlyHeld.push(held.get(who.address)!);
          continue;
        }
        // an accepted identity change becomes the identity this conversation knows
        if (checked.identity) known[employeeOf(checked.certificate)] = checked.identity.key;
        held.delete(who.address);
        adding.push(who);
        add.push(kp);
        keep.push(k);
      } catch (e) {
        if (e instanceof CredentialError) rejected.push(e);
        else throw e;
      }
    }
  }
  const removeLeaves =
    op.kind === 'remove' ? current.filter((m) => !m.self && op.addresses.includes(m.address)).map((m) => m.leafIndex) : [];
  const heldList = [...held.values()];
  const next: ConversationRecord = {
    ...rec,
    identities: known,
    held: heldList.length ? await ctx.ks.sealJson(heldList, heldAad(rec.id)) : undefined,
  };
  const heldEvents = newlyHeld.map((h) => ({
    id: `${newMessageId()}.h`,
    body: { sender: ctx.self, event: { kind: 'held' as const, who: [stripPerson(h.person)], detail: h.reason } },
  }));
  if (!add.length && !removeLeaves.length) {
    if (heldEvents.length || heldList.length !== wasHeld.length) {
      await writeConversation(ctx, next, null, await openPending(ctx, rec), heldEvents);
      ctx.emit({ type: 'conversation', conversationId });
    }
    return { prepared: false, rejected, adding, held: newlyHeld };
  }
  let out;
  try {
    out = await commit(state, { add, removeLeaves });
  } catch (e) {
    throw explain(e, failures);
  }
  const after = memberPeople(out.newState).map((m) => m.address);
  const pending: PendingCommit = {
    stage: 'commit',
    messageId: newMessageId(),
    // the hub's count, which runs ahead of the group's epoch after a commit nobody could take in
    epoch: hubEpochOf(rec),
    commit: b64(out.commit),
    welcome: out.welcome ? b64(out.welcome) : null,
    members: after,
    recipients: adding.map((a) => a.address),
    newState: b64(serializeState(out.newState)),
    op: op.kind === 'add' ? { kind: 'add', keyPackages: keep, accept: op.accept } : op,
  };
  await writeConversation(ctx, next, null, pending, heldEvents);
  return { prepared: true, rejected, adding, held: newlyHeld };
}

export type SubmitOutcome = 'none' | 'done' | 'conflict' | 'offline' | 'retry';

/** Submits whatever is pending for the conversation. Under the conversation lock. */
export async function submitPending(ctx: EngineContext, conversationId: string): Promise<SubmitOutcome> {
  const loaded = await loadConversation(ctx, conversationId);
  if (!loaded) return 'none';
  const { rec, state } = loaded;
  let p = await openPending(ctx, rec);
  if (!p) return 'none';
  if (p.stage === 'retry') return 'retry';
  if (p.stage === 'commit') {
    try {
      await ctx.transport.send({
        conversationId,
        hub: rec.hub,
        messageId: p.messageId,
        kind: 'commit',
        epoch: p.epoch,
        payload: p.commit,
        members: p.members,
      });
    } catch (e) {
      if (e instanceof TransportError && e.code === 'epoch_conflict') {
        await writeConversation(ctx, rec, null, { stage: 'retry', op: p.op });
        return 'conflict';
      }
      if (e instanceof TransportError && e.code === 'offline') return 'offline';
      throw e;
    }
    const newState = deserializeState(unb64(p.newState), authConfig(ctx).config);
    const before = new Set(memberPeople(state).map((m) => m.address));
    const afterPeople = memberPeople(newState);
    const added = afterPeople.filter((m) => !before.has(m.address));
    const removed = memberPeople(state).filter((m) => !afterPeople.some((a) => a.address === m.address));
    const events = [
      ...(added.length
        ? [{ id: `${p.messageId}.a`, body: { sender: ctx.self, event: { kind: 'added' as const, who: added.map(stripPerson) } } }]
        : []),
      ...(removed.length
        ? [{ id: `${p.messageId}.r`, body: { sender: ctx.self, event: { kind: 'removed' as const, who: removed.map(stripPerson) } } }]
        : []),
    ];
    const next: PendingCommit | null = p.welcome
      ? { stage: 'welcome', messageId: `${p.messageId}.w`, welcome: p.welcome, recipients: p.recipients }
      : null;
    await writeConversation(ctx, { ...rec, lastActivity: ctx.now().getTime(), hubEpoch: p.epoch + 1 }, newState, next, events);
    ctx.emit({ type: 'conversation', conversationId });
    if (!next) return 'done';
    p = next;
  }
  // at the hub's count: the new member learns it from here (see onWelcome)
  const current = await ctx.db.get('conversations', conversationId);
  const epoch = current ? hubEpochOf(current) : epochOf(ctx.cache.get(conversationId)!);
  try {
    await ctx.transport.send({
      conversationId,
      hub: rec.hub,
      messageId: p.messageId,
      kind: 'welcome',
      epoch,
      payload: p.welcome,
      recipients: p.recipients,
    });
  } catch (e) {
    if (e instanceof TransportError && e.code === 'offline') return 'offline';
    throw e;
  }
  const fresh = await ctx.db.get('conversations', conversationId);
  if (fresh) await writeConversation(ctx, fresh, null, null);
  return 'done';
}

const stripPerson = (p: Person): Person => ({
  linkedBy: p.linkedBy ?? null,
  deviceId: p.deviceId,
  employeeId: p.employeeId,
  displayName: p.displayName,
  orgDomain: p.orgDomain,
  address: p.address,
});
