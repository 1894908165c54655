/**
 * Membership sync: a conversation follows the partner contact it was opened with. New
 * colleagues of that contact are added (they read only what follows), devices that are no
 * longer there (left the team, revoked) are removed (they read nothing that follows).
 */
import { KontorError } from '../../shared/errors';
import { resetClaim, takeClaim } from './claims';
import { engineState, requireEngine } from './engine-host';
import { isConnected } from './link';
import { lastSync, markSynced, readMeta } from './meta';

const SYNC_EVERY_MS = 10 * 60_000;

export async function syncMembers(
  conversationId: string,
  partnerDomain: string,
  contact: string,
): Promise<{ added: number; removed: number }> {
  const e = await requireEngine();
  if (!isConnected()) throw new KontorError('unavailable', 'not connected to your company gateway');
  resetClaim();
  const { added } = await e.addMembers(conversationId, [{ domain: partnerDomain, contact }]);
  const claimed = takeClaim();
  if (!claimed) return { added: added.length, removed: 0 };
  const view = await e.conversation(conversationId);
  const stale = (view?.members ?? [])
    .filter((m) => !m.self && m.orgDomain === partnerDomain && !claimed.has(m.address))
    .map((m) => m.address);
  if (stale.length) await e.removeDevices(conversationId, stale);
  return { added: added.length, removed: stale.length };
}

/**
 * Re-adds one member device (see ChannelEngine.readdDevices): partner devices through the
 * contact the conversation was opened with, own colleagues through their employee id.
 */
export async function readdMember(
  conversationId: string,
  address: string,
  partnerDomain: string,
  contact: string,
): Promise<{ added: number }> {
  const e = await requireEngine();
  if (!isConnected()) throw new KontorError('unavailable', 'not connected to your company gateway');
  const m = (await e.conversation(conversationId))?.members.find((x) => x.address === address && !x.self);
  if (!m) throw new KontorError('not_found', 'no such member in this conversation');
  const via = m.orgDomain === partnerDomain ? { domain: partnerDomain, contact } : { domain: m.orgDomain, employee: m.employeeId };
  const { added } = await e.readdDevices(conversationId, [address], [via]);
  return { added: added.length };
}

/** On (re)connect: membership sync for the conversations this browser opened, at most every 10 minutes. */
export async function syncDue(): Promise<void> {
  const { engine } = engineState();
  if (!engine) return;
  for (const c of await engine.conversations()) {
    const meta = await readMeta(c.id);
    if (!meta?.partnerDomain || !meta.contact || Date.now() - (await lastSync(c.id)) < SYNC_EVERY_MS) continue;
    await markSynced(c.id);
    await syncMembers(c.id, meta.partnerDomain, meta.contact).catch((e: unknown) => console.warn('[kontor] member sync', e));
  }
}
