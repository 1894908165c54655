/** Hub-model delivery: submit to the hub, fan out to gateways, per-device inboxes, receipts. */
import * as v from 'valibot';
import type { SendParams, MethodResults } from '../wire/protocol';
import { splitAddress } from '../wire/schemas';
import { ApiError, isErrorCode } from './errors';
import type { Gateway } from './context';
import { parseReply, type Federation } from './federation';
import { FedErrorReply, FedSubmitReply, type FedSubmit } from '../wire/federation';
import type { Delivery, NonceUse, OutboxItem, ReceiptItem } from './store/types';

async function assertRoutable(gw: Gateway, addrs: string[] | undefined): Promise<void> {
  for (const d of new Set((addrs ?? []).map((a) => splitAddress(a).domain))) {
    if (d === gw.config.domain) continue;
    if ((await gw.store.getPartner(d))?.status !== 'admitted') throw new ApiError('forbidden', `${d} is not an admitted partner`);
  }
}

/**
 * A partner's commit must leave this org's own people in the conversation as they are (only
 * revoked devices may go): the hub cannot read a commit, and a partner gateway could otherwise
 * send one in its device's name that drops every local member from the routing for good.
 * Kontor's own flows never need more: each side adds and removes the other org's devices.
 */
async function assertKeepsLocalMembers(gw: Gateway, p: SendParams): Promise<void> {
  const c = await gw.store.getConversation(p.conversationId);
  if (!c) return; // submitToHub answers not_found
  const local = (addrs: string[]) => new Set(addrs.filter((a) => splitAddress(a).domain === gw.config.domain));
  const before = local(c.members),
    after = local(p.members ?? []);
  for (const a of after) if (!before.has(a)) throw new ApiError('forbidden', `a partner's commit cannot add ${a}`);
  for (const a of before) {
    if (after.has(a)) continue;
    const d = await gw.store.getDevice(splitAddress(a).deviceId);
    if (d && d.revokedAt === null) throw new ApiError('forbidden', `a partner's commit cannot remove ${a}`);
  }
}

/** A device (local or, via federation, remote) submits to a conversation hosted here. */
export async function submitAsHub(gw: Gateway, sender: string, p: SendParams): Promise<MethodResults['send']> {
  const addrs = p.kind === 'commit' ? p.members : p.recipients;
  if (addrs) await assertRoutable(gw, addrs); // application messages skip a promise per message
  if (p.kind === 'commit' && splitAddress(sender).domain !== gw.config.domain) await assertKeepsLocalMembers(gw, p);
  const t0 = performance.now();
  const r = await gw.store.submitToHub(
    {
      conversationId: p.conversationId,
      messageId: p.messageId,
      sender,
      kind: p.kind,
      epoch: p.epoch,
      payload: p.payload,
      members: p.members,
      recipients: p.recipients,
    },
    gw.config.domain,
    Date.now(),
  );
  gw.time.storeWrite((performance.now() - t0) / 1000, { op: 'hub' });
  if (!r.ok) throw new ApiError(r.code, r.message, r.currentEpoch !== undefined ? { currentEpoch: r.currentEpoch } : undefined);
  gw.count.messages({ kind: p.kind, result: r.duplicate ? 'duplicate' : 'accepted' });
  gw.push(r.local);
  for (const peer of r.remotePeers) gw.kickOutbox(peer);
  return { seq: r.seq, hub: gw.config.domain, duplicate: r.duplicate };
}

/** RPC `send` from a local device: handled here if this gateway is the hub, else forwarded. */
export async function send(gw: Gateway, fed: Federation, deviceAddr: string, p: SendParams): Promise<MethodResults['send']> {
  const hub = p.hub ?? gw.config.domain;
  if (hub === gw.config.domain) return submitAsHub(gw, deviceAddr, p);
  const { status, json } = await fed.request(hub, '/v1/fed/submit', { sender: deviceAddr, params: { ...p, hub } } satisfies FedSubmit);
  if (status === 200) {
    const r = parseReply(FedSubmitReply, json, hub);
    // the hub took it from this device: the device is in that conversation (see storeDeliveries)
    await gw.store.addRemoteMember(p.conversationId, hub, splitAddress(deviceAddr).deviceId);
    gw.count.messages({ kind: p.kind, result: 'forwarded' });
    return { seq: r.seq, hub, duplicate: Boolean(r.duplicate) };
  }
  const err = v.safeParse(FedErrorReply, json);
  if (err.success && status >= 400 && status < 500 && isErrorCode(err.output.error.code)) {
    const { code, message, currentEpoch } = err.output.error;
    throw new ApiError(code, `hub ${hub}: ${message}`, currentEpoch !== undefined ? { currentEpoch } : undefined);
  }
  throw new ApiError('unavailable', `hub ${hub} answered ${status}`);
}

/**
 * Whether `peer` may tell a local sender about its message: a conversation hosted here must
 * have a member of the peer's org; for one hosted elsewhere the sender must be in it as far as
 * this gateway knows (who else is in it only its members know: the client checks `by`).
 */
async function receiptAllowed(gw: Gateway, peer: string, r: ReceiptItem): Promise<boolean> {
  const sender = splitAddress(r.sender).deviceId;
  if (r.hub !== gw.config.domain) return gw.store.isRemoteMember(r.conversationId, r.hub, sender);
  const c = await gw.store.getConversation(r.conversationId);
  if (!c) return false;
  return c.members.includes(r.sender) && c.members.some((m) => splitAddress(m).domain === peer);
}

/** A partner's batch of deliveries and receipts. The peer may only speak for itself. */
export async function acceptFromPeer(gw: Gateway, peer: string, items: OutboxItem[], nonce: NonceUse): Promise<{ stored: number } | null> {
  const deliveries: Delivery[] = [];
  const receipts: ReceiptItem[] = [];
  for (const i of items) {
    if (i.type === 'deliver') {
      // only the hub (the peer itself) routes a conversation it hosts
      if (i.hub !== peer) throw new ApiError('forbidden', `${peer} cannot deliver for hub ${i.hub}`);
      const { type: _t, ...d } = i;
      deliveries.push(d);
    } else {
      if (splitAddress(i.sender).domain !== gw.config.domain) throw new ApiError('bad_request', 'receipt for a sender of another domain');
      // 'partner' receipts come from the hub that handed the message on; 'delivered' from the device's gateway
      const vouching = i.status === 'partner' ? i.hub : splitAddress(i.by).domain;
      if (vouching !== peer) throw new ApiError('forbidden', `${peer} cannot issue receipts for ${i.by}`);
      const { type: _t, ...r } = i;
      receipts.push(r);
    }
  }
  // no honest hub delivers into a conversation another gateway hosts: refuse the whole batch
  const convs = [...new Set(deliveries.map((d) => d.conversationId))];
  const hostedHere = (await Promise.all(convs.map((id) => gw.store.getConversation(id)))).findIndex((c) => c !== null);
  if (hostedHere >= 0) throw new ApiError('forbidden', `${peer} cannot deliver into ${convs[hostedHere]}, a conversation hosted here`);
  // a late receipt from a member removed a moment ago is possible: drop it alone, do not refuse the batch
  const allowed = await Promise.all(receipts.map((r) => receiptAllowed(gw, peer, r)));
  const accepted = receipts.filter((_, i) => allowed[i]);
  if (accepted.length < receipts.length) {
    gw.log.warn('receipts dropped: the peer is not in their conversation', { peer, dropped: receipts.length - accepted.length });
    gw.count.messages({ kind: 'receipt', result: 'refused' }, receipts.length - accepted.length);
  }
  const now = Date.now();
  // null: the request's nonce was recorded before, and nothing was stored
  const t0 = performance.now();
  const stored = await gw.store.storeFromPeer(nonce, deliveries, accepted, now);
  gw.time.storeWrite((performance.now() - t0) / 1000, { op: 'peer' });
  if (!stored) return null;
  gw.push(stored);
  gw.count.messages({ kind: 'inbound', result: 'stored' }, deliveries.length);
  return { stored: stored.length };
}

/** Routes a receipt to the original sender's device, locally or through its gateway. */
export async function emitReceipts(gw: Gateway, receipts: ReceiptItem[]): Promise<void> {
  const local = receipts.filter((r) => splitAddress(r.sender).domain === gw.config.domain);
  if (local.length) gw.push(await gw.store.storeReceipts(local, Date.now()));
  const remote: { peer: string; item: OutboxItem }[] = [];
  for (const r of receipts) {
    const peer = splitAddress(r.sender).domain;
    if (peer === gw.config.domain) continue;
    if ((await gw.store.getPartner(peer))?.status === 'admitted') remote.push({ peer, item: { type: 'receipt', ...r } });
  }
  if (remote.length) {
    await gw.store.enqueueOutbox(remote);
    for (const p of new Set(remote.map((r) => r.peer))) gw.kickOutbox(p);
  }
}

/** Acknowledged entries leave the inbox; acknowledged ciphertexts produce 'delivered' receipts. */
export async function ack(gw: Gateway, deviceAddr: string, deviceId: string, ids: number[]): Promise<MethodResults['inbox.ack']> {
  const { acked, delivered } = await gw.store.ackInbox(deviceId, ids);
  if (delivered.length)
    await emitReceipts(
      gw,
      delivered.map((g) => ({ ...g, status: 'delivered', by: deviceAddr })),
    );
  return { acked };
}

/**
 * One receipt per (sender, conversation) for a batch: a device acknowledging 200 messages
 * costs its sender one receipt, not 200.
 */
export function aggregateReceipts(
  msgs: { conversationId: string; hub: string; seq: number; messageId: string; sender: string }[],
  status: ReceiptItem['status'],
  by: string,
): ReceiptItem[] {
  const groups = new Map<string, ReceiptItem>();
  for (const m of msgs) {
    const k = `${m.sender}\n${m.hub}\n${m.conversationId}`;
    const g = groups.get(k);
    if (!g)
      groups.set(k, {
        conversationId: m.conversationId,
        hub: m.hub,
        seq: m.seq,
        messageId: m.messageId,
        sender: m.sender,
        status,
        by,
        messageIds: [m.messageId],
      });
    else {
      g.messageIds.push(m.messageId);
      if (m.seq > g.seq) {
        g.seq = m.seq;
        g.messageId = m.messageId;
      }
    }
  }
  return [...groups.values()];
}
