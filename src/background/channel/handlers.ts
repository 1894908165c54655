/** Message handlers for the private channel (side panel, popup). */
import { KontorError } from '../../shared/errors';
import type { ChannelMessageView, ConversationDetail, ConversationSummary, PartnerView } from '../../shared/protocol';
import type { Handlers } from '../dispatcher';
import { listPartners } from '../partners/directory';
import { readMeta, saveOpenedMeta } from './meta';
import { requireEngine } from './engine-host';
import { channelIdentity, enrollDevice } from './enrollment';
import { isConnected } from './link';
import { readdMember, syncMembers } from './members';
import { ownDevices, revokeDevice } from './devices';
import { messageView, person, warningText } from './views';
import { deviceLabels } from './device-label';
import { linkedByLabel } from '../../shared/device-label';

/**
 * A conversation's title and partner. The contact is known to the side that opened it; the
 * other side names the partner org from the members (`partnerOrgs`, read only when needed:
 * it loads and verifies the group).
 */
async function summary(
  c: { id: string; unread: number; lastActivity: number; status: string; warning?: unknown },
  partners: PartnerView[],
  partnerOrgs: () => Promise<string[] | undefined>,
): Promise<ConversationSummary> {
  const stored = (await readMeta(c.id)) ?? { partnerDomain: (await partnerOrgs())?.[0] ?? null, contact: null };
  const partner = partners.find((p) => p.domain === stored.partnerDomain);
  const contactName = partner?.contacts.find((x) => x.id === stored.contact)?.name ?? stored.contact;
  const org = partner?.name ?? stored.partnerDomain ?? '—';
  return {
    id: c.id,
    title: contactName ? `${org} · ${contactName}` : org,
    partnerDomain: stored.partnerDomain,
    contact: stored.contact,
    unread: c.unread,
    lastActivity: c.lastActivity,
    status: c.status,
    warning: warningText(c.warning),
  };
}

async function openerMeta(conversationId: string): Promise<{ partnerDomain: string; contact: string }> {
  const meta = await readMeta(conversationId);
  if (!meta?.partnerDomain || !meta.contact)
    throw new KontorError('forbidden', 'only the side that opened the conversation manages its members');
  return { partnerDomain: meta.partnerDomain, contact: meta.contact };
}

export const channelHandlers: Pick<
  Handlers,
  | 'channel.identity'
  | 'channel.enroll'
  | 'channel.start'
  | 'channel.list'
  | 'channel.view'
  | 'channel.send'
  | 'channel.read'
  | 'channel.syncMembers'
  | 'channel.readd'
  | 'channel.acceptDevice'
  | 'channel.devices'
  | 'channel.revokeDevice'
> = {
  'channel.identity': () => channelIdentity(),
  'channel.enroll': ({ gatewayUrl, code }) => enrollDevice(gatewayUrl, code),
  'channel.start': async ({ domain, contact }) => {
    const partner = (await listPartners()).find((p) => p.domain === domain);
    if (!partner) throw new KontorError('not_found', `${domain} is not a partner`);
    if (partner.keyWarning) throw new KontorError('forbidden', `the key of ${partner.name} changed: confirm it first`);
    if (!partner.fingerprint) throw new KontorError('forbidden', `${partner.name} is not verified yet`);
    const engine = await requireEngine();
    if (!isConnected()) throw new KontorError('unavailable', 'not connected to your company gateway');
    const result = await engine.startConversation([{ domain, contact }]);
    if (result.added.length === 0) throw new KontorError('not_found', `nobody at ${partner.name} can be reached as "${contact}" right now`);
    await saveOpenedMeta(result.conversationId, { partnerDomain: domain, contact });
    return { conversationId: result.conversationId, added: result.added.length, rejected: result.rejected.map((e) => e.message) };
  },
  'channel.list': async () => {
    const engine = await requireEngine();
    const [list, partners] = await Promise.all([engine.conversations(), listPartners()]);
    const conversations = await Promise.all(
      list.map((c) => summary(c, partners, async () => (await engine.conversation(c.id))?.partnerOrgs)),
    );
    return { conversations };
  },
  'channel.view': async ({ conversationId }) => {
    const engine = await requireEngine();
    const c = await engine.conversation(conversationId);
    if (!c) throw new KontorError('not_found', 'no such conversation');
    const partners = await listPartners();
    const base = await summary(c, partners, async () => c.partnerOrgs);
    const partner = partners.find((p) => p.domain === base.partnerDomain);
    const detail: ConversationDetail = {
      ...base,
      verified: c.verified,
      partnerState: partner?.state ?? null,
      fingerprint: { epoch: Number(c.fingerprint.epoch), digits: c.fingerprint.digits },
      members: c.members.map((m) => ({ ...person(m), verified: m.verification.state === 'verified', self: m.self })),
      held: c.held.map((h) => ({
        ...person(h.person),
        reason: h.reason,
        identityFingerprint: h.identityFingerprint,
        previousFingerprint: h.previousFingerprint,
      })),
      messages: await labelled(engine, (await engine.messages(conversationId)).map(messageView)),
    };
    return detail;
  },
  'channel.send': async ({ conversationId, text }) => messageView(await (await requireEngine()).sendText(conversationId, text)),
  'channel.syncMembers': async ({ conversationId }) => {
    const meta = await openerMeta(conversationId);
    return syncMembers(conversationId, meta.partnerDomain, meta.contact);
  },
  'channel.readd': async ({ conversationId, address }) => {
    const meta = await openerMeta(conversationId);
    return readdMember(conversationId, address, meta.partnerDomain, meta.contact);
  },
  'channel.acceptDevice': async ({ conversationId, address }) => {
    if (!isConnected()) throw new KontorError('unavailable', 'not connected to your company gateway');
    const engine = await requireEngine();
    if (!(await engine.held(conversationId)).some((h) => h.address === address))
      throw new KontorError('not_found', 'no such device waiting in this conversation');
    const { added } = await engine.acceptHeld(conversationId, address);
    return { added: added.length };
  },
  'channel.devices': () => ownDevices(),
  'channel.revokeDevice': ({ deviceId }) => revokeDevice(deviceId),
  'channel.read': async ({ conversationId }) => {
    await (await requireEngine()).markRead(conversationId);
    return { read: true as const };
  },
};

/** The "linked from" events name the linking device by its label where this browser knows it. */
async function labelled(
  engine: { certificate: { deviceId: string; orgDomain: string; employeeId: string } },
  messages: ChannelMessageView[],
) {
  const labels = await deviceLabels(engine.certificate.deviceId);
  for (const m of messages)
    if (m.event)
      m.event.who = m.event.who.map((p) => ({
        ...p,
        linkedByLabel: linkedByLabel({ ...p, linkedBy: p.linkedBy ?? null }, engine.certificate, labels),
      }));
  return messages;
}
