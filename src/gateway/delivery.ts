/** Hub-model delivery: submit to the hub, fan out to gateways, per-device inboxes, receipts. */
import * as v from 'valibot';
import type { SendParams, MethodResults } from '../wire/protocol';
import { splitAddress } from '../wire/schemas';
import { ApiError, isErrorCode } from './errors';
import type { Gateway } from './context';
import { parseReply, type Federation } from './federation';
import { FedErrorReply, FedSubmitReply, type FedSubmit } from '../wire/federation';
import type { Delivery, OutboxItem, ReceiptItem } from './store/types';

async function assertRoutable(gw: Gateway, addrs: string[] | undefined): Promise<void> {
  for (const d of new Set((addrs ?? []).map((a) => splitAddress(a).domain))) {
    if (d === gw.config.domain) continue;
    if ((await gw.store.getPartner(d))?.status !== 'admitted') throw new ApiError('forbidden', `${d} is not an admitted partner`);
  }
}

/** A device (local or, via federation, remote) submits to a conversation hosted here. */
export async function submitAsHub(gw: Gateway, sender: string, p: SendParams): Promise<MethodResults['send']> {
  const addrs = p.kind === 'commit' ? p.members : p.recipients;
  if (addrs) await assertRoutable(gw, addrs); // application messages skip a promise per message
  const r = await gw.store.submitToHub({
    conversationId: p.conversationId, messageId: p.messageId, sender, kind: p.kind, epoch: p.epoch,
    payload: p.payload, members: p.members, recipients: p.recipients,
  }, gw.config.domain, Date.now());
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

/** A partner's batch of deliveries and receipts. The peer may only speak for itself. */
export async function acceptFromPeer(gw: Gateway, peer: string, items: OutboxItem[]): Promise<{ stored: number }> {
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
  const now = Date.now();
  const stored = [...(await gw.store.storeDeliveries(deliveries, now)), ...(await gw.store.storeReceipts(receipts, now))];
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
  if (delivered.length) await emitReceipts(gw, delivered.map((g) => ({ ...g, status: 'delivered', by: deviceAddr })));
  return { acked };
}

/**
 * One receipt per (sender, conversation) for a batch: a device acknowledging 200 messages
 * costs its sender one receipt, not 200.
 */
export function aggregateReceipts(
  msgs: { conversationId: string; hub: string; seq: number; messageId: string; sender: string }[],
  status: ReceiptItem['status'], by: string,
): ReceiptItem[] {
  const groups = new Map<string, ReceiptItem>();
  for (const m of msgs) {
    const k = `${m.sender}\n${m.hub}\n${m.conversationId}`;
    const g = groups.get(k);
    if (!g) groups.set(k, { conversationId: m.conversationId, hub: m.hub, seq: m.seq, messageId: m.messageId, sender: m.sender, status, by, messageIds: [m.messageId] });
    else {
      g.messageIds.push(m.messageId);
      if (m.seq > g.seq) { g.seq = m.seq; g.messageId = m.messageId; }
    }
  }
  return [...groups.values()];
}
