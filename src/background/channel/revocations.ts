/**
 * Signed device revocations (issue 15), from wherever they come: relayed in a conversation by
 * a member (inbox.ts), or handed out by a gateway when asked about the members of this
 * device's conversations (ChannelEngine.checkRevocations: the own gateway for colleagues, the
 * partner's gateway through federation for partner devices). A gateway's answer is no more
 * trusted than a member's: each statement is verified here, against the identity key the
 * conversation knows for that employee (`issuedBy: "identity"`) or the org key pinned for
 * that domain (`issuedBy: "org"`); one that does not verify is ignored with a warning.
 */
import type { ClientState } from 'ts-mls';
import { verifyRevocation, type DeviceRevocation } from '../../wire/identity';
import type { ConversationRecord, MessageRecord } from './db';
import { employeeOf, knownIdentities } from './admission';
import { MlsOpError } from './mls';
import { LIMITS } from '../../wire/protocol';
import { TransportError } from './transport';
import { newMessageId } from './payload';
import { loadConversation, memberPeople, sealBody, type EngineContext, type Person } from './context';

export const revocationAddress = (s: DeviceRevocation) => `${s.deviceId}@${s.orgDomain}`;

export async function revocationVerifies(ctx: EngineContext, rec: ConversationRecord, state: ClientState, s: DeviceRevocation) {
  const identityKey = knownIdentities(rec, state)[employeeOf(s)] ?? null;
  return verifyRevocation(s, { identityKey, orgKey: await ctx.orgKeyFor(s.orgDomain) });
}

export function revocationIgnored(ctx: EngineContext, conversationId: string, s: DeviceRevocation, why = 'does not verify'): void {
  ctx.emit({
    type: 'warning',
    conversationId,
    error: new MlsOpError('not_member', `a revocation of ${revocationAddress(s).slice(0, 320)} ${why}; ignored`),
  });
}

/** The "removed: revoked by …" event for a verified statement, and the record that never adds the device again. */
export async function revocationEffect(
  ctx: EngineContext,
  rec: ConversationRecord,
  state: ClientState,
  s: DeviceRevocation,
  sender: Person,
  id: string,
): Promise<{ rec: ConversationRecord; event: MessageRecord; member: boolean }> {
  const address = revocationAddress(s);
  const member = memberPeople(state).find((m) => m.address === address);
  const who: Person = member
    ? { deviceId: member.deviceId, employeeId: member.employeeId, displayName: member.displayName, orgDomain: member.orgDomain, address }
    : { deviceId: s.deviceId, employeeId: s.employeeId, displayName: s.employeeId, orgDomain: s.orgDomain, address };
  const event: MessageRecord = {
    conversationId: rec.id,
    id,
    at: ctx.now().getTime(),
    direction: 'event',
    body: await sealBody(ctx, rec.id, id, { sender, event: { kind: 'removed', who: [who], detail: `revoked_by_${s.issuedBy}` } }),
    state: null,
    seq: null,
  };
  return { rec: { ...rec, revoked: [...new Set([...(rec.revoked ?? []), address])] }, event, member: member !== undefined };
}

/** Member devices of other org and colleagues' devices, by domain, with the conversations each is in (not yet revoked ones). */
export async function revocationQueries(ctx: EngineContext): Promise<Map<string, Map<string, string[]>>> {
  const byDomain = new Map<string, Map<string, string[]>>();
  for (const id of await ctx.db.getAllKeys('conversations')) {
    const loaded = await loadConversation(ctx, id);
    if (loaded?.rec.status !== 'active') continue;
    for (const m of memberPeople(loaded.state)) {
      if (m.self || m.address === ctx.self.address || loaded.rec.revoked?.includes(m.address)) continue;
      const devices = byDomain.get(m.orgDomain) ?? new Map<string, string[]>();
      byDomain.set(m.orgDomain, devices);
      devices.set(m.deviceId, [...(devices.get(m.deviceId) ?? []), id]);
    }
  }
  return byDomain;
}

/**
 * Under the conversation lock: records a statement a gateway handed out, if it verifies and
 * names a member, with its event. True if the caller should relay it and remove the device.
 */
export async function recordRevocation(ctx: EngineContext, conversationId: string, s: DeviceRevocation): Promise<boolean> {
  const loaded = await loadConversation(ctx, conversationId);
  if (!loaded || loaded.rec.revoked?.includes(revocationAddress(s))) return false;
  if (!(await revocationVerifies(ctx, loaded.rec, loaded.state, s))) {
    revocationIgnored(ctx, conversationId, s);
    return false;
  }
  const { rec, event, member } = await revocationEffect(ctx, loaded.rec, loaded.state, s, ctx.self, `${newMessageId()}.v`);
  const tx = ctx.db.transaction(['conversations', 'messages'], 'readwrite');
  await tx.objectStore('conversations').put(rec);
  await tx.objectStore('messages').put(event);
  await tx.done;
  ctx.emit({ type: 'conversation', conversationId });
  return member;
}

/**
 * Asks each gateway about the member devices of its org (in pages of LIMITS.revocationQuery)
 * and hands every verified statement naming a member to `act` (relay it, remove the device).
 * A gateway that cannot be reached or refuses is skipped until the next check; the others are still asked.
 */
export async function checkRevocations(
  ctx: EngineContext,
  act: (conversationId: string, s: DeviceRevocation) => Promise<void>,
): Promise<string[]> {
  const removed: string[] = [];
  for (const [domain, devices] of await revocationQueries(ctx)) {
    const ids = [...devices.keys()];
    for (let i = 0; i < ids.length; i += LIMITS.revocationQuery) {
      const page = ids.slice(i, i + LIMITS.revocationQuery);
      let statements: DeviceRevocation[];
      try {
        statements = await ctx.transport.revocations(domain, page);
      } catch (e) {
        // unreachable, no longer admitted, or a gateway from before revocation answers: asked again next time
        if (e instanceof TransportError) continue;
        throw e;
      }
      for (const s of statements) {
        const convs = devices.get(s.deviceId) ?? [];
        if (s.orgDomain !== domain || !page.includes(s.deviceId)) {
          for (const c of convs.length ? convs : ['']) revocationIgnored(ctx, c, s, `was not asked of ${domain}`);
          continue;
        }
        for (const c of convs) {
          if (!(await ctx.lock.run(c, () => recordRevocation(ctx, c, s)))) continue;
          await act(c, s).catch((error: unknown) => ctx.emit({ type: 'warning', conversationId: c, error: error as Error }));
          removed.push(revocationAddress(s));
        }
      }
    }
  }
  return [...new Set(removed)];
}

/** Removes the devices a verified revocation named from the conversations where they still are members (inbox.ts marks them). */
export async function removeRevokedMembers(ctx: EngineContext, remove: (conversationId: string, addresses: string[]) => Promise<void>) {
  for (const id of [...ctx.revokedPending]) {
    ctx.revokedPending.delete(id);
    const rec = await ctx.db.get('conversations', id);
    if (rec?.revoked?.length && rec.status === 'active')
      await remove(id, rec.revoked).catch((err: unknown) => ctx.emit({ type: 'warning', conversationId: id, error: err as Error }));
  }
}
