/**
 * The SQLite store's delivery half: the hub log, inboxes, receipts, acknowledgements, remote
 * members and log pruning. The statements each message runs are prepared once, and the
 * conversation's position is kept in memory between messages (convCache).
 */
import type Database from 'better-sqlite3';
import { splitAddress } from '../../wire/schemas';
import type { WriteBatcher } from './batch';
import { byDomain as groupByDomain, hubDelivery, routeSubmission } from './route';
import { deliveryEntry, receiptEntry, toEntry } from './rows';
import type { AckResult, Delivery, HubResult, HubSubmission, ReceiptItem, RoutedEntry } from './types';

type Row = Record<string, unknown>;
interface ConvState {
  epoch: number;
  members: string[];
  nextSeq: number;
}

export class SqliteDelivery {
  private readonly s: Record<string, Database.Statement>;
  /** deviceId -> [active, checkedAt]: revocations by the admin CLI show within a second, as the disconnect poll does */
  readonly activeCache = new Map<string, [boolean, number]>();
  /**
   * Conversation rows as this connection last read or wrote them, saving a SELECT and a JSON
   * parse per message. Only the server's store writes conversations (the admin CLI does not),
   * and the cache is dropped whenever the write batcher rolls anything back.
   */
  private convCache = new Map<string, ConvState>();

  constructor(
    private readonly db: Database.Database,
    private readonly w: WriteBatcher,
  ) {
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      insInbox: p(`INSERT OR IGNORE INTO inbox (device_id, kind, conv_id, hub, seq, message_id, epoch, sender, payload,
        receipt_status, receipt_by, receipt_ids, created_at, dedupe) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`),
      logById: p('SELECT seq, sender FROM log WHERE conv_id = ? AND message_id = ?'),
      // the UNIQUE (conv_id, message_id) constraint finds retries: no SELECT before each insert
      insLog: p('INSERT OR IGNORE INTO log (conv_id, seq, message_id, sender, created_at) VALUES (?,?,?,?,?)'),
      conv: p('SELECT * FROM conversations WHERE id = ?'),
      lastSeq: p('SELECT MAX(seq) AS seq FROM log WHERE conv_id = ?'),
      convCommit: p('UPDATE conversations SET epoch = ?, members = ? WHERE id = ?'),
      activeDevice: p('SELECT 1 FROM devices WHERE device_id = ? AND revoked_at IS NULL'),
      addRemote: p('INSERT OR IGNORE INTO remote_members (conv_id, hub, device_id) VALUES (?,?,?)'),
      isRemote: p('SELECT 1 FROM remote_members WHERE conv_id = ? AND hub = ? AND device_id = ?'),
      insOutbox: p('INSERT INTO outbox (peer, item, created_at) VALUES (?,?,?)'),
      fetch: p('SELECT * FROM inbox WHERE device_id = ? AND id > ? ORDER BY id LIMIT ?'),
      // one statement per acknowledgement batch, not one per id
      ack: p('DELETE FROM inbox WHERE device_id = ? AND id IN (SELECT value FROM json_each(?))'),
      // the receipts an acknowledgement owes, grouped in SQLite: one row per sender and
      // conversation instead of a row per message (with max(), the bare message_id is the
      // newest message's)
      ackGroups: p(`SELECT conv_id, hub, sender, max(seq) AS seq, message_id, json_group_array(message_id ORDER BY seq) AS ids
        FROM inbox WHERE device_id = ? AND id IN (SELECT value FROM json_each(?)) AND kind != 'receipt'
        GROUP BY sender, hub, conv_id`),
    };
  }

  /** The write batcher rolled writes back: what the cache holds of them may never have happened. */
  rolledBack(): void {
    this.convCache.clear();
  }

  private stmt(name: string): Database.Statement {
    return this.s[name]!;
  }

  submitToHub(s: HubSubmission, hub: string, now: number): Promise<HubResult> {
    return this.w.run((): HubResult => {
      const c = this.conversationState(s.conversationId);
      if (!c) return { ok: false, code: 'not_found', message: 'unknown conversation' };
      const routed = routeSubmission(s, c);
      // a retry is answered as before even if the conversation moved on since (e.g. a commit's epoch)
      if (!Array.isArray(routed)) return this.prior(s) ?? routed;
      const { epoch, nextSeq: seq } = c;
      if (this.stmt('insLog').run(s.conversationId, seq, s.messageId, s.sender, now).changes === 0) {
        const prior = this.prior(s);
        if (!prior) throw new Error(`log position ${seq} of ${s.conversationId} already taken`);
        return prior;
      }
      if (s.kind === 'commit') {
        const members = [...new Set(s.members)];
        this.stmt('convCommit').run(epoch + 1, JSON.stringify(members), s.conversationId);
        this.convCache.set(s.conversationId, { epoch: epoch + 1, members, nextSeq: seq + 1 });
      } else {
        // the position lives in the log (MAX(seq)): nothing to write to the conversation row
        this.convCache.set(s.conversationId, { epoch, members: c.members, nextSeq: seq + 1 });
      }
      const d = hubDelivery(s, hub, seq);
      const byDomain = groupByDomain(routed, splitAddress);
      // no dedupe keys: the log insert above already refused a retry of this message
      const local = this.insertDeliveries([{ ...d, recipients: byDomain.get(hub) ?? [] }], now, false);
      byDomain.delete(hub);
      for (const [peer, devs] of byDomain)
        this.stmt('insOutbox').run(peer, JSON.stringify({ type: 'deliver', ...d, recipients: devs }), now);
      return { ok: true, seq, duplicate: false, local, remotePeers: [...byDomain.keys()] };
    });
  }

  private conversationState(id: string): ConvState | null {
    const cached = this.convCache.get(id);
    if (cached) return cached;
    const r = this.stmt('conv').get(id) as Row | undefined;
    if (!r) return null;
    if (this.convCache.size >= 10_000) this.convCache.clear();
    const last = (this.stmt('lastSeq').get(id) as { seq: number | null }).seq;
    const c = { epoch: r.epoch as number, members: JSON.parse(r.members as string) as string[], nextSeq: (last ?? 0) + 1 };
    this.convCache.set(id, c);
    return c;
  }

  /** The answer for a message id already in the log: a duplicate of the same sender, else a conflict. */
  private prior(s: HubSubmission): HubResult | null {
    const prior = this.stmt('logById').get(s.conversationId, s.messageId) as Row | undefined;
    if (!prior) return null;
    if (prior.sender !== s.sender) return { ok: false, code: 'conflict', message: 'message id already used by another sender' };
    return { ok: true, seq: prior.seq as number, duplicate: true, local: [], remotePeers: [] };
  }

  private isActive(deviceId: string, now: number): boolean {
    const c = this.activeCache.get(deviceId);
    if (c && now - c[1] < 1000) return c[0];
    if (this.activeCache.size > 100_000) this.activeCache.clear();
    const active = this.stmt('activeDevice').get(deviceId) !== undefined;
    this.activeCache.set(deviceId, [active, now]);
    return active;
  }

  /**
   * The new row's id, or null if its dedupe key was stored before. run() and lastInsertRowid
   * instead of RETURNING: RETURNING costs about a microsecond more per row.
   */
  private insertInbox(...row: unknown[]): number | null {
    const r = this.stmt('insInbox').run(...row);
    return r.changes > 0 ? Number(r.lastInsertRowid) : null;
  }

  /** @param dedupe false only where the caller has already made sure the rows are new */
  private insertDeliveries(items: Delivery[], now: number, dedupe = true): RoutedEntry[] {
    const out: RoutedEntry[] = [];
    for (const d of items) {
      // the schema checked that it is base64 (Opaque), so decoding loses nothing
      const bytes = Buffer.from(d.payload, 'base64');
      for (const dev of d.recipients) {
        if (!this.isActive(dev, now)) continue;
        const id = this.insertInbox(
          dev,
          d.kind,
          d.conversationId,
          d.hub,
          d.seq,
          d.messageId,
          d.epoch,
          d.sender,
          bytes,
          null,
          null,
          null,
          now,
          dedupe ? `m/${d.hub}/${d.conversationId}/${d.seq}/${dev}` : null,
        );
        if (id !== null) {
          out.push({
            deviceId: dev,
            entry: deliveryEntry(id, d, now),
          });
        }
      }
    }
    return out;
  }
  storeDeliveries(items: Delivery[], now: number) {
    return this.w.run(() => this.deliveriesIn(items, now));
  }
  /** storeDeliveries' work, inside a write the caller runs */
  deliveriesIn(items: Delivery[], now: number): RoutedEntry[] {
    const allowed: Delivery[] = [];
    for (const d of items) {
      // a conversation hosted here is ordered here only
      if (this.stmt('conv').get(d.conversationId)) continue;
      let recipients: string[];
      if (d.kind === 'welcome') {
        recipients = d.recipients.filter((dev) => this.isActive(dev, now));
        for (const dev of recipients) this.stmt('addRemote').run(d.conversationId, d.hub, dev);
      } else {
        // e.g. the commit that adds a device, which reaches it before its Welcome: it cannot use it anyway
        recipients = d.recipients.filter((dev) => this.stmt('isRemote').get(d.conversationId, d.hub, dev) !== undefined);
      }
      if (recipients.length) allowed.push(recipients.length === d.recipients.length ? d : { ...d, recipients });
    }
    return this.insertDeliveries(allowed, now);
  }
  async addRemoteMember(conversationId: string, hub: string, deviceId: string) {
    // a read first: the common case (already known) then costs no write
    if (this.stmt('isRemote').get(conversationId, hub, deviceId)) return;
    await this.w.run(() => this.stmt('addRemote').run(conversationId, hub, deviceId));
  }
  async isRemoteMember(conversationId: string, hub: string, deviceId: string) {
    return this.stmt('isRemote').get(conversationId, hub, deviceId) !== undefined;
  }
  storeReceipts(items: ReceiptItem[], now: number) {
    return this.w.run(() => this.receiptsIn(items, now));
  }
  /** storeReceipts' work, inside a write the caller runs */
  receiptsIn(items: ReceiptItem[], now: number): RoutedEntry[] {
    const out: RoutedEntry[] = [];
    for (const i of items) {
      const dev = splitAddress(i.sender).deviceId;
      if (!this.stmt('activeDevice').get(dev)) continue;
      const id = this.insertInbox(
        dev,
        'receipt',
        i.conversationId,
        i.hub,
        i.seq,
        i.messageId,
        0,
        i.sender,
        null,
        i.status,
        i.by,
        JSON.stringify(i.messageIds),
        now,
        `r/${i.hub}/${i.conversationId}/${i.seq}/${i.status}/${i.by}`,
      );
      if (id !== null) {
        out.push({
          deviceId: dev,
          entry: receiptEntry(id, i, now),
        });
      }
    }
    return out;
  }
  async fetchInbox(deviceId: string, after: number, limit: number) {
    return (this.stmt('fetch').all(deviceId, after, limit) as Row[]).map(toEntry);
  }
  ackInbox(deviceId: string, ids: number[]) {
    return this.w.run((): AckResult => {
      const list = JSON.stringify(ids);
      const delivered = (this.stmt('ackGroups').all(deviceId, list) as Row[]).map((r) => ({
        conversationId: r.conv_id as string,
        hub: r.hub as string,
        sender: r.sender as string,
        seq: r.seq as number,
        messageId: r.message_id as string,
        messageIds: JSON.parse(r.ids as string) as string[],
      }));
      return { acked: this.stmt('ack').run(deviceId, list).changes, delivered };
    });
  }

  pruneLog(olderThan: number, afterConv: string) {
    return this.w.run(() => {
      const convs = this.db.prepare('SELECT id FROM conversations WHERE id > ? ORDER BY id LIMIT 500').pluck().all(afterConv) as string[];
      // per conversation the primary key (conv_id, seq) is in time order: the first row young
      // enough to keep is found by walking exactly the rows that go, so no index on created_at
      // has to be written with every message
      const del = this.db.prepare(`DELETE FROM log WHERE conv_id = @c AND seq < COALESCE(
        (SELECT seq FROM log WHERE conv_id = @c AND created_at >= @t ORDER BY seq LIMIT 1),
        (SELECT MAX(seq) FROM log WHERE conv_id = @c))`);
      let deleted = 0;
      for (const c of convs) deleted += del.run({ c, t: olderThan }).changes;
      return { deleted, next: convs.length < 500 ? null : convs.at(-1)! };
    });
  }
}
