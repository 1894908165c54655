/** The hub's rules for a submission, shared by the SQLite and PostgreSQL stores. */
import type { Delivery, HubResult, HubSubmission } from './types';

/** The recipients of a submission, or why the conversation refuses it. */
export function routeSubmission(s: HubSubmission, c: { epoch: number; members: string[] }): string[] | Extract<HubResult, { ok: false }> {
  const { members, epoch } = c;
  if (!members.includes(s.sender)) return { ok: false, code: 'forbidden', message: 'sender is not a member of this conversation' };
  if (s.kind === 'commit') {
    if (s.epoch !== epoch)
      return {
        ok: false,
        code: 'epoch_conflict',
        message: `a commit for epoch ${s.epoch} is not acceptable; current epoch is ${epoch}`,
        currentEpoch: epoch,
      };
    if (!s.members?.includes(s.sender)) return { ok: false, code: 'bad_request', message: 'commit needs members including the sender' };
    return [...new Set([...members, ...s.members])].filter((m) => m !== s.sender);
  }
  if (s.kind === 'application') {
    if (s.epoch > epoch) return { ok: false, code: 'bad_request', message: `epoch ${s.epoch} is ahead of the conversation (${epoch})` };
    return members.filter((m) => m !== s.sender);
  }
  if (!s.recipients?.every((r) => members.includes(r)))
    return { ok: false, code: 'bad_request', message: 'welcome recipients must be members' };
  return [...new Set(s.recipients)];
}

/** Recipient addresses grouped by their domain. */
export function byDomain(addresses: string[], split: (a: string) => { deviceId: string; domain: string }): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of addresses) {
    const { deviceId, domain } = split(r);
    const list = out.get(domain);
    if (list) list.push(deviceId);
    else out.set(domain, [deviceId]);
  }
  return out;
}

/** The delivery a routed submission becomes at position `seq` (recipients filled in per domain). */
export function hubDelivery(s: HubSubmission, hub: string, seq: number): Delivery {
  return {
    conversationId: s.conversationId,
    hub,
    seq,
    messageId: s.messageId,
    kind: s.kind,
    epoch: s.epoch,
    sender: s.sender,
    payload: s.payload,
    recipients: [],
  };
}
