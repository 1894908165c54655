/** Read-only views of the engine's conversations for the UI (no key material leaves). */
import { employeeOf, knownIdentities, readHeld, type HeldDevice } from './admission';
import { fingerprint } from '../../wire/manifest';
import { safetyFingerprint } from './mls';
import { readChain } from './credentials';
import { members as groupMembers } from './mls';
import type { CredentialChain } from '../../wire/identity';
import { loadConversation, openMessage, verifyMembers, type EngineContext, type MessageView } from './context';

export async function listConversations(ctx: EngineContext) {
  const recs = await ctx.db.getAll('conversations');
  return recs
    .sort((a, b) => b.lastActivity - a.lastActivity)
    .map((r) => ({
      id: r.id,
      hub: r.hub,
      epoch: r.epoch,
      status: r.status,
      warning: r.warning,
      unread: r.unread,
      lastActivity: r.lastActivity,
    }));
}

export type HeldView = Omit<HeldDevice, 'keyPackage'> & {
  /** fingerprint of the identity key the device chains to, and of the one the conversation knew for the employee (an identity reset shows both) */
  identityFingerprint: string | null;
  previousFingerprint: string | null;
};

/** Devices that wait for a member's acceptance, with why (no key material). */
export async function heldView(ctx: EngineContext, conversationId: string): Promise<HeldView[]> {
  const loaded = await loadConversation(ctx, conversationId);
  if (!loaded) return [];
  const known = knownIdentities(loaded.rec, loaded.state);
  return Promise.all(
    (await readHeld(ctx, loaded.rec)).map(async ({ keyPackage: _kp, ...rest }) => {
      const previous = known[employeeOf(rest.person)];
      return {
        ...rest,
        identityFingerprint: rest.identityKey ? await fingerprint(rest.identityKey) : null,
        previousFingerprint: previous && previous !== rest.identityKey ? await fingerprint(previous) : null,
      };
    }),
  );
}

/** Members with verification against the currently pinned org keys, and the safety fingerprint. */
export async function conversationView(ctx: EngineContext, conversationId: string) {
  const loaded = await loadConversation(ctx, conversationId);
  if (!loaded) return null;
  const { rec, state } = loaded;
  const members = await verifyMembers(ctx, state);
  const partnerOrgs = [...new Set(members.map((m) => m.orgDomain))].filter((d) => d !== ctx.self.orgDomain);
  const verified = members.every((m) => m.verification.state === 'verified');
  const outbox = await ctx.db.countFromIndex('outbox', 'byConversation', conversationId);
  return {
    id: rec.id,
    hub: rec.hub,
    epoch: rec.epoch,
    status: rec.status,
    warning: rec.warning,
    unread: rec.unread,
    lastActivity: rec.lastActivity,
    members,
    partnerOrgs,
    verified,
    fingerprint: await safetyFingerprint(state),
    queued: outbox,
    held: await heldView(ctx, conversationId),
  };
}

export async function messageList(ctx: EngineContext, conversationId: string): Promise<MessageView[]> {
  const range = IDBKeyRange.bound([conversationId, -Infinity], [conversationId, Infinity]);
  const recs = await ctx.db.getAllFromIndex('messages', 'byConversation', range);
  // The index orders by arrival time, and ties by the (random) message id: a backlog taken
  // in within one millisecond would show shuffled. The hub's position decides ties.
  recs.sort(
    (a, b) => a.at - b.at || (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER) || (a.order ?? 0) - (b.order ?? 0),
  );
  return Promise.all(recs.map((r) => openMessage(ctx, r)));
}

export async function markRead(ctx: EngineContext, conversationId: string): Promise<void> {
  const tx = ctx.db.transaction('conversations', 'readwrite');
  const r = await tx.store.get(conversationId);
  const next = r ? { ...r, unread: 0 } : null;
  if (next) await tx.store.put(next);
  await tx.done;
  if (next) ctx.records.set(conversationId, next);
}

/** 'first': created the employee identity; 'linked': signed in by device `linkedBy`; 'org_only': certified by the org alone. */
export type DeviceOrigin = { origin: 'first' | 'linked' | 'org_only'; linkedBy: string | null };

const originOf = (chain: CredentialChain | null): DeviceOrigin =>
  !chain
    ? { origin: 'org_only', linkedBy: null }
    : { origin: chain.endorsement.linkedBy ? 'linked' : 'first', linkedBy: chain.endorsement.linkedBy };

export async function deviceOrigins(ctx: EngineContext): Promise<Map<string, DeviceOrigin>> {
  const out = new Map<string, DeviceOrigin>([[ctx.self.deviceId, originOf(ctx.identity.chain)]]);
  for (const id of await ctx.db.getAllKeys('conversations')) {
    const loaded = await loadConversation(ctx, id);
    if (!loaded) continue;
    for (const m of groupMembers(loaded.state)) {
      const { certificate, chain } = readChain(m.leaf.credential); // verified when the leaf joined
      if (certificate.employeeId === ctx.self.employeeId && certificate.orgDomain === ctx.self.orgDomain && !out.has(certificate.deviceId))
        out.set(certificate.deviceId, originOf(chain));
    }
  }
  return out;
}
