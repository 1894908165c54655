/**
 * The hub's half of the PostgreSQL store: submissions to conversations hosted here.
 *
 * Submissions that arrive while the previous batch is written are decided together, in two
 * round trips per batch and without an explicit transaction: one statement reads their
 * conversations, the message ids the log holds already and the active local devices; the
 * hub's rules are applied in memory in arrival order (a commit moves the epoch for the
 * submissions after it); one statement writes the positions, log rows, inbox rows and outbox
 * rows, and commits (synchronous_commit=on: durable when it returns).
 *
 * The write holds only if every conversation it moves still has the position the read saw:
 * its UPDATE matches `next_seq = read_seq`, under the row lock it takes, and every other part
 * of the statement writes only if all of them matched. Every accepted submission moves its
 * conversation's position, so an unchanged position means unchanged epoch and members, and
 * positions stay gapless. If another instance got there first, nothing was written and the
 * batch is read and decided again. A message id another instance logged after the read is
 * refused by the log's UNIQUE (conv_id, message_id): the statement fails as a whole and each
 * submission is run again on its own, under a row lock (submitOne), which answers it as a
 * duplicate; so does any other failure, so one bad submission fails alone. Inbox ids are
 * drawn per device from inbox_heads, k at a time for a device that gets k entries, in
 * arrival order, under the head row's lock until the statement commits.
 */
import type { Pool, PoolClient } from 'pg';
import { splitAddress } from '../../wire/schemas';
import { StoreUnavailable } from '../errors';
import { isRetryable, RETRIES, unavailable, withClient, type PgWriteBatcher } from './pg-batch';
import { HubSlots } from './hub-slots';
import { KnownConversations } from './pg-known';
import { READ, SUBMIT_ONE, WRITE } from './pg-submit-sql';
import { byDomain, hubDelivery, routeSubmission } from './route';
import type { HubResult, HubSubmission, RoutedEntry } from './types';

type Row = Record<string, unknown>;
interface Pending {
  s: HubSubmission;
  hub: string;
  now: number;
  resolve: (r: HubResult) => void;
  reject: (e: unknown) => void;
}
interface Conv {
  epoch: number;
  members: string[];
  nextSeq: number;
  /** the position as read: the write holds only if it is still the conversation's */
  readSeq: number;
  changed: boolean;
  membersChanged: boolean;
}
/** one accepted submission, as written */
interface Accepted {
  s: HubSubmission;
  hub: string;
  now: number;
  seq: number;
  devices: string[];
  peers: string[];
  outbox: string[];
}

/** a named statement: PostgreSQL parses it once per connection, not on every batch */
const named = (name: string, text: string) => ({ name, text });

const entryOf = (a: Accepted, deviceId: string, id: number): RoutedEntry => ({
  deviceId,
  entry: {
    id,
    kind: a.s.kind,
    conversationId: a.s.conversationId,
    hub: a.hub,
    seq: a.seq,
    messageId: a.s.messageId,
    epoch: a.s.epoch,
    sender: a.s.sender,
    payload: a.s.payload,
    receivedAt: a.now,
  },
});

/** Who gets a routed submission: local device ids, and per partner the outbox item. */
function fanOut(s: HubSubmission, hub: string, seq: number, routed: string[]): { devices: string[]; peers: string[]; outbox: string[] } {
  const d = hubDelivery(s, hub, seq);
  const domains = byDomain(routed, splitAddress);
  const devices = [...new Set(domains.get(hub) ?? [])];
  domains.delete(hub);
  const peers = [...domains.keys()];
  return { devices, peers, outbox: peers.map((p) => JSON.stringify({ type: 'deliver', ...d, recipients: domains.get(p) })) };
}

/**
 * At most `slots` batches are written at a time, each on its own connection: different
 * conversations commit side by side, as the database allows, while one conversation's
 * submissions are written one batch after another, in arrival order (hub-slots.ts).
 */
export class PgSubmit {
  private readonly slots: HubSlots<Pending>;
  /** conversations as this instance's own last write left them: a batch of known ones need not read */
  private readonly known = new KnownConversations();

  constructor(
    private readonly pool: Pool,
    /** a group commit for a batch whose combined write failed: its submissions one at a time */
    private readonly oneByOne: () => PgWriteBatcher,
    slots: number,
  ) {
    this.slots = new HubSlots<Pending>(
      slots,
      (p) => p.s.conversationId,
      (group) => this.runGroup(group),
    );
  }

  submitToHub(s: HubSubmission, hub: string, now: number): Promise<HubResult> {
    return new Promise<HubResult>((resolve, reject) => this.slots.add({ s, hub, now, resolve, reject }));
  }

  /** Settles every submission of the group; never rejects (its conversations' next batches wait on it). */
  private async runGroup(group: Pending[]): Promise<void> {
    const ids = [...new Set(group.map((p) => p.s.conversationId))];
    try {
      const results = await this.optimistic(group, ids);
      if (results) {
        for (const [i, p] of group.entries()) p.resolve(results[i]!);
        return;
      }
    } catch (e) {
      // whether the write committed is not known, or the one-at-a-time path below moves them
      this.known.forget(ids);
      if (e instanceof StoreUnavailable) {
        for (const p of group) p.reject(e);
        return;
      }
      // anything else (a message id logged already, one bad submission): one at a time below
    }
    const w = this.oneByOne();
    await Promise.all(group.map((p) => w.run((x) => this.submitOne(x, p.s, p.hub, p.now)).then(p.resolve, p.reject)));
  }

  /** The group read and written without a lock, again while another instance moved a conversation first; null if it kept doing so. */
  private async optimistic(group: Pending[], ids: string[]): Promise<HubResult[] | null> {
    try {
      return await withClient(this.pool, async (c) => {
        for (let attempt = 0; attempt <= RETRIES; attempt++) {
          try {
            // after a conflict, read: what this instance knew was not the conversation's state
            return await this.submitGroup(c, group, ids, attempt > 0);
          } catch (e) {
            if (!isRetryable(e)) throw e;
            this.known.forget(ids, true);
          }
        }
        return null;
      });
    } catch (e) {
      throw unavailable(e);
    }
  }

  /**
   * One batch: read (unless its conversations are known and `read` is false), decide, write
   * (40001 and nothing written if another instance moved one of its conversations first).
   */
  private async submitGroup(x: PoolClient, group: Pending[], ids: string[], read: boolean): Promise<HubResult[]> {
    const known = read ? null : this.known.all(ids);
    const state = known
      ? { convs: [...known].map(([id, k]) => ({ id, epoch: k.epoch, members: k.members, next_seq: k.nextSeq })), prior: [], active: null }
      : await this.read(x, group, ids);
    const convs = new Map<string, Conv>();
    for (const r of state.convs)
      convs.set(r.id as string, {
        epoch: r.epoch as number,
        members: r.members as string[],
        nextSeq: Number(r.next_seq),
        readSeq: Number(r.next_seq),
        changed: false,
        membersChanged: false,
      });
    // what the log holds already: a retry is answered as before, even if the conversation moved on
    const prior = new Map<string, { seq: number; sender: string }>();
    for (const [conv, messageId, seq, sender] of state.prior) prior.set(`${conv}\n${messageId}`, { seq: Number(seq), sender });
    const results = this.decide(group, convs, prior);
    // a refusal (or a retry answered) must rest on what the database holds, not on a guess the write would check
    if (known && results.some((r) => !('s' in r))) return this.submitGroup(x, group, ids, true);
    return this.write(x, results, convs, state.active && new Set(state.active));
  }

  /** The batch's conversations, the message ids the log holds already and the active local devices it may reach (READ). */
  private async read(
    x: PoolClient,
    group: Pending[],
    ids: string[],
  ): Promise<{ convs: Row[]; prior: [string, string, number, string][]; active: string[] }> {
    // one gateway, one domain: every submission of a batch names the same hub
    const hub = group[0]!.hub;
    const committed = group.flatMap((p) => (p.s.kind === 'commit' ? (p.s.members ?? []) : []));
    return (
      await x.query(named('kontor-hub-read', READ), [
        ids,
        group.map((p) => p.s.conversationId),
        group.map((p) => p.s.messageId),
        [...new Set(byDomain(committed, splitAddress).get(hub) ?? [])],
        hub,
      ])
    ).rows[0] as { convs: Row[]; prior: [string, string, number, string][]; active: string[] };
  }

  /** The hub's rules in arrival order, in memory: what each submission gets (a commit moves the epoch for those after it). */
  private decide(
    group: Pending[],
    convs: Map<string, Conv>,
    prior: Map<string, { seq: number; sender: string }>,
  ): (HubResult | Accepted)[] {
    return group.map(({ s, hub, now }) => {
      const c = convs.get(s.conversationId);
      if (!c) return { ok: false, code: 'not_found', message: 'unknown conversation' };
      const key = `${s.conversationId}\n${s.messageId}`;
      const before = prior.get(key);
      if (before) {
        if (before.sender !== s.sender) return { ok: false, code: 'conflict', message: 'message id already used by another sender' };
        return { ok: true, seq: before.seq, duplicate: true, local: [], remotePeers: [] };
      }
      const routed = routeSubmission(s, c);
      if (!Array.isArray(routed)) return routed;
      const seq = c.nextSeq++;
      c.changed = true;
      if (s.kind === 'commit') {
        c.epoch++;
        c.members = [...new Set(s.members)];
        c.membersChanged = true;
      }
      prior.set(key, { seq, sender: s.sender });
      return { s, hub, now, seq, ...fanOut(s, hub, seq, routed) };
    });
  }

  /** Writes the accepted submissions of a decided batch in one statement (WRITE); `active`: the devices the read found active, if it read. */
  private async write(
    x: PoolClient,
    results: (HubResult | Accepted)[],
    convs: Map<string, Conv>,
    active: Set<string> | null,
  ): Promise<HubResult[]> {
    const accepted = results.filter((r): r is Accepted => 's' in r);
    if (!accepted.length) return results as HubResult[];

    // inbox ids: k per device that gets k entries, handed out in arrival order (the write draws them)
    const counts = new Map<string, number>();
    const inbox: { device: string[]; off: number[]; n: number[] } = { device: [], off: [], n: [] };
    for (const [i, a] of accepted.entries()) {
      if (active) a.devices = a.devices.filter((d) => active.has(d));
      for (const d of a.devices) {
        const off = counts.get(d) ?? 0;
        counts.set(d, off + 1);
        inbox.device.push(d);
        inbox.off.push(off);
        inbox.n.push(i + 1);
      }
    }
    const devs = [...counts.keys()].sort();
    const changed = [...convs].filter(([, c]) => c.changed);
    const out = accepted.flatMap((a) => a.peers.map((p, k) => [p, a.outbox[k]!, a.now] as const));
    const written = await x.query(named('kontor-hub-write', WRITE), [
      accepted.map((a) => a.s.conversationId),
      accepted.map((a) => a.seq),
      accepted.map((a) => a.s.messageId),
      accepted.map((a) => a.s.sender),
      accepted.map((a) => a.s.kind),
      accepted.map((a) => a.s.epoch),
      // base64 as received: decoded by the database, not turned into hex text in this process
      accepted.map((a) => a.s.payload),
      accepted.map((a) => a.now),
      accepted.map((a) => a.hub),
      changed.map(([id]) => id),
      changed.map(([, c]) => c.nextSeq),
      changed.map(([, c]) => c.epoch),
      changed.map(([, c]) => (c.membersChanged ? JSON.stringify(c.members) : null)),
      inbox.device,
      inbox.off,
      inbox.n,
      out.map((o) => o[0]),
      out.map((o) => o[1]),
      out.map((o) => o[2]),
      devs,
      devs.map((d) => counts.get(d)!),
      changed.map(([, c]) => c.readSeq),
      changed.length,
    ]);
    // each device's first new id: its head after the write less what this batch drew
    const first = new Map<string, number>();
    for (const [d, last] of (written.rows[0] as { heads: [string, number][] }).heads) first.set(d, Number(last) - counts.get(d)! + 1);
    for (const [id, c] of changed) this.known.set(id, { epoch: c.epoch, members: c.members, nextSeq: c.nextSeq });
    const local = accepted.map((a) =>
      // a device the write found revoked or unknown got no row, and no head back
      a.devices
        .filter((d) => first.has(d))
        .map((d) => {
          const id = first.get(d)!;
          first.set(d, id + 1);
          return entryOf(a, d, id);
        }),
    );
    let k = 0;
    return results.map((r) => {
      if (!('s' in r)) return r;
      const i = k++;
      return { ok: true, seq: r.seq, duplicate: false, local: local[i]!, remotePeers: r.peers };
    });
  }

  /** One submission in its own savepoint: what a batch falls back to when its combined write failed. */
  private async submitOne(x: PoolClient, s: HubSubmission, hub: string, now: number): Promise<HubResult> {
    const c = (await x.query('SELECT epoch, members, next_seq FROM conversations WHERE id = $1 FOR UPDATE', [s.conversationId])).rows[0] as
      | Row
      | undefined;
    if (!c) return { ok: false, code: 'not_found', message: 'unknown conversation' };
    const routed = routeSubmission(s, { epoch: c.epoch as number, members: c.members as string[] });
    if (!Array.isArray(routed)) return (await this.prior(x, s)) ?? routed;
    const seq = c.next_seq as number;
    const { devices, peers, outbox } = fanOut(s, hub, seq, routed);
    const commit = s.kind === 'commit';
    const r = (
      await x.query(SUBMIT_ONE, [
        s.conversationId,
        seq,
        s.messageId,
        s.sender,
        s.kind,
        s.epoch,
        now,
        commit,
        commit ? JSON.stringify([...new Set(s.members)]) : null,
        devices,
        hub,
        Buffer.from(s.payload, 'base64'),
        peers,
        outbox,
      ])
    ).rows[0] as { logged: number; inbox: [string, number][] };
    if (r.logged === 0) {
      const prior = await this.prior(x, s);
      if (!prior) throw new Error(`log position ${seq} of ${s.conversationId} already taken`);
      return prior;
    }
    const a: Accepted = { s, hub, now, seq, devices, peers, outbox };
    return { ok: true, seq, duplicate: false, local: r.inbox.map(([d, id]) => entryOf(a, d, id)), remotePeers: peers };
  }

  /** The answer for a message id already in the log: a duplicate of the same sender, else a conflict. */
  private async prior(x: PoolClient, s: HubSubmission): Promise<HubResult | null> {
    const prior = (await x.query('SELECT seq, sender FROM log WHERE conv_id = $1 AND message_id = $2', [s.conversationId, s.messageId]))
      .rows[0] as Row | undefined;
    if (!prior) return null;
    if (prior.sender !== s.sender) return { ok: false, code: 'conflict', message: 'message id already used by another sender' };
    return { ok: true, seq: prior.seq as number, duplicate: true, local: [], remotePeers: [] };
  }
}
