/**
 * The PostgreSQL store's delivery half: the hub log, inboxes and acknowledgements.
 *
 * A conversation's row is read FOR UPDATE, so its messages get their positions one after
 * another even when several instances accept them at once. Inbox rows are numbered per
 * device from inbox_heads (see pg-schema.ts), heads locked in device order to keep
 * deadlocks rare (pg-batch.ts retries the ones that happen).
 */
import type { Pool, PoolClient } from 'pg';
import type { InboxEntry } from '../../wire/protocol';
import { splitAddress } from '../../wire/schemas';
import { unavailable, type PgWriteBatcher } from './pg-batch';
import { byDomain, routeSubmission } from './route';
import { deliveryEntry, receiptEntry, toEntry } from './rows';
import type { AckResult, AckedGroup, Delivery, HubResult, HubSubmission, ReceiptItem, RoutedEntry } from './types';

type Row = Record<string, unknown>;

/**
 * Numbers and stores one inbox row for each active device among $1; rows whose dedupe key
 * ($12, followed by the device id when $13) was stored before are skipped. Returns device_id, id.
 */
const INSERT_INBOX = `
WITH h AS (
  INSERT INTO inbox_heads AS ih (device_id, last_id)
  SELECT device_id, 1 FROM devices WHERE device_id = ANY($1::text[]) AND revoked_at IS NULL ORDER BY device_id
  ON CONFLICT (device_id) DO UPDATE SET last_id = ih.last_id + 1
  RETURNING device_id, last_id)
INSERT INTO inbox (device_id, id, kind, conv_id, hub, seq, message_id, epoch, sender, payload, receipt_status, receipt_by, receipt_ids, created_at, dedupe)
SELECT h.device_id, h.last_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $14, $15,
  CASE WHEN $12::text IS NULL THEN NULL WHEN $13::boolean THEN $12 || h.device_id ELSE $12 END
FROM h ORDER BY h.device_id
ON CONFLICT (dedupe) WHERE dedupe IS NOT NULL DO NOTHING
RETURNING device_id, id`;

/**
 * A partner hub's delivery: nothing for a conversation hosted here; a Welcome reaches the
 * active devices it names and makes them members of the hub's conversation (remote_members),
 * anything else reaches only such members. Parameters as INSERT_INBOX's, $11 the dedupe
 * prefix (the device id follows). Returns device_id, id.
 */
const DELIVER = `
WITH ok AS (
  SELECT d.device_id FROM devices d
  WHERE d.device_id = ANY($1::text[]) AND d.revoked_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM conversations WHERE id = $3)
    AND ($2 = 'welcome' OR EXISTS (SELECT 1 FROM remote_members r WHERE r.conv_id = $3 AND r.hub = $4 AND r.device_id = d.device_id))),
m AS (
  INSERT INTO remote_members (conv_id, hub, device_id) SELECT $3, $4, device_id FROM ok WHERE $2 = 'welcome'
  ON CONFLICT DO NOTHING),
h AS (
  INSERT INTO inbox_heads AS ih (device_id, last_id) SELECT device_id, 1 FROM ok ORDER BY device_id
  ON CONFLICT (device_id) DO UPDATE SET last_id = ih.last_id + 1
  RETURNING device_id, last_id)
INSERT INTO inbox (device_id, id, kind, conv_id, hub, seq, message_id, epoch, sender, payload, created_at, dedupe)
SELECT h.device_id, h.last_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 || h.device_id FROM h ORDER BY h.device_id
ON CONFLICT (dedupe) WHERE dedupe IS NOT NULL DO NOTHING
RETURNING device_id, id`;

/**
 * Forgets the log rows of a page of conversations ($1) older than $2, keeping the first row
 * young enough (found by walking the primary key from the oldest) or else the newest.
 */
const PRUNE_LOG = `
WITH cut AS MATERIALIZED (
  SELECT c.id, COALESCE(
    (SELECT seq FROM log WHERE conv_id = c.id AND created_at >= $2 ORDER BY seq LIMIT 1),
    (SELECT max(seq) FROM log WHERE conv_id = c.id)) AS seq
  FROM unnest($1::text[]) AS c (id))
DELETE FROM log l USING cut WHERE l.conv_id = cut.id AND l.seq < cut.seq`;

/**
 * A hub message after its conversation row is locked, in one round trip: the log row (which
 * refuses a retry through UNIQUE (conv_id, message_id)), the next position and, for a commit,
 * epoch and members; the inbox rows of local recipients (no dedupe keys: the log refused any
 * retry) and the outbox rows for partners. Everything after the log insert happens only if it
 * inserted. Returns logged (0 or 1) and the new inbox rows as [device_id, id] pairs.
 */
const SUBMIT = `
WITH l AS (
  INSERT INTO log (conv_id, seq, message_id, sender, created_at) VALUES ($1, $2, $3, $4, $7)
  ON CONFLICT DO NOTHING RETURNING seq),
u AS (
  UPDATE conversations SET next_seq = $2 + 1, epoch = CASE WHEN $8 THEN epoch + 1 ELSE epoch END,
    members = COALESCE($9::jsonb, members) WHERE id = $1 AND EXISTS (SELECT 1 FROM l) RETURNING 1),
h AS (
  INSERT INTO inbox_heads AS ih (device_id, last_id)
  SELECT device_id, 1 FROM devices WHERE device_id = ANY($10::text[]) AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM l)
  ORDER BY device_id
  ON CONFLICT (device_id) DO UPDATE SET last_id = ih.last_id + 1
  RETURNING device_id, last_id),
i AS (
  INSERT INTO inbox (device_id, id, kind, conv_id, hub, seq, message_id, epoch, sender, payload, created_at)
  SELECT h.device_id, h.last_id, $5, $1, $11, $2, $3, $6, $4, $12, $7 FROM h ORDER BY h.device_id
  RETURNING device_id, id),
o AS (
  INSERT INTO outbox (peer, item, created_at)
  SELECT p, item, $7 FROM unnest($13::text[], $14::text[]) AS t (p, item) WHERE EXISTS (SELECT 1 FROM l)
  RETURNING 1)
SELECT (SELECT count(*) FROM l)::int AS logged,
  COALESCE((SELECT json_agg(json_build_array(device_id, id)) FROM i), '[]'::json) AS inbox`;

export class PgDelivery {
  constructor(
    private readonly pool: Pool,
    private readonly w: PgWriteBatcher,
  ) {}

  submitToHub(s: HubSubmission, hub: string, now: number): Promise<HubResult> {
    return this.w.run(async (x): Promise<HubResult> => {
      const c = (await x.query('SELECT epoch, members, next_seq FROM conversations WHERE id = $1 FOR UPDATE', [s.conversationId]))
        .rows[0] as Row | undefined;
      if (!c) return { ok: false, code: 'not_found', message: 'unknown conversation' };
      const epoch = c.epoch as number;
      const routed = routeSubmission(s, { epoch, members: c.members as string[] });
      // a retry is answered as before even if the conversation moved on since (e.g. a commit's epoch)
      if (!Array.isArray(routed)) return (await this.prior(x, s)) ?? routed;
      const seq = c.next_seq as number;
      const d: Delivery = {
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
      const domains = byDomain(routed, splitAddress);
      const localDevices = domains.get(hub) ?? [];
      domains.delete(hub);
      const peers = [...domains.keys()];
      const commit = s.kind === 'commit';
      const r = (
        await x.query(SUBMIT, [
          s.conversationId,
          seq,
          s.messageId,
          s.sender,
          s.kind,
          s.epoch,
          now,
          commit,
          commit ? JSON.stringify([...new Set(s.members)]) : null,
          localDevices,
          hub,
          Buffer.from(s.payload, 'base64'),
          peers,
          peers.map((p) => JSON.stringify({ type: 'deliver', ...d, recipients: domains.get(p) })),
        ])
      ).rows[0] as { logged: number; inbox: [string, number][] };
      if (r.logged === 0) {
        const prior = await this.prior(x, s);
        if (!prior) throw new Error(`log position ${seq} of ${s.conversationId} already taken`);
        return prior;
      }
      const local: RoutedEntry[] = r.inbox.map(([deviceId, id]) => ({
        deviceId,
        entry: {
          id,
          kind: d.kind,
          conversationId: d.conversationId,
          hub,
          seq,
          messageId: d.messageId,
          epoch: d.epoch,
          sender: d.sender,
          payload: d.payload,
          receivedAt: now,
        },
      }));
      return { ok: true, seq, duplicate: false, local, remotePeers: peers };
    });
  }

  /** The answer for a message id already in the log: a duplicate of the same sender, else a conflict. */
  private async prior(x: PoolClient, s: HubSubmission): Promise<HubResult | null> {
    const prior = (await x.query('SELECT seq, sender FROM log WHERE conv_id = $1 AND message_id = $2', [s.conversationId, s.messageId]))
      .rows[0] as Row | undefined;
    if (!prior) return null;
    if (prior.sender !== s.sender) return { ok: false, code: 'conflict', message: 'message id already used by another sender' };
    return { ok: true, seq: prior.seq as number, duplicate: true, local: [], remotePeers: [] };
  }

  storeDeliveries(items: Delivery[], now: number): Promise<RoutedEntry[]> {
    return this.w.run(async (x) => {
      const out: RoutedEntry[] = [];
      for (const d of items) {
        if (!d.recipients.length) continue;
        const rows = (
          await x.query(DELIVER, [
            d.recipients,
            d.kind,
            d.conversationId,
            d.hub,
            d.seq,
            d.messageId,
            d.epoch,
            d.sender,
            Buffer.from(d.payload, 'base64'),
            now,
            `m/${d.hub}/${d.conversationId}/${d.seq}/`,
          ])
        ).rows as Row[];
        for (const r of rows) {
          out.push({
            deviceId: r.device_id as string,
            entry: deliveryEntry(r.id as number, d, now),
          });
        }
      }
      return out;
    });
  }

  async addRemoteMember(conversationId: string, hub: string, deviceId: string): Promise<void> {
    // a read first: the common case (already known) then costs no write
    if (await this.isRemoteMember(conversationId, hub, deviceId)) return;
    await this.w.run((x) =>
      x.query('INSERT INTO remote_members (conv_id, hub, device_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        conversationId,
        hub,
        deviceId,
      ]),
    );
  }

  async isRemoteMember(conversationId: string, hub: string, deviceId: string): Promise<boolean> {
    const r = await this.pool
      .query('SELECT 1 FROM remote_members WHERE conv_id = $1 AND hub = $2 AND device_id = $3', [conversationId, hub, deviceId])
      .catch((e: unknown) => {
        throw unavailable(e);
      });
    return (r.rowCount ?? 0) > 0;
  }

  pruneLog(olderThan: number, afterConv: string): Promise<{ deleted: number; next: string | null }> {
    return this.w.run(async (x) => {
      const convs = ((await x.query('SELECT id FROM conversations WHERE id > $1 ORDER BY id LIMIT 500', [afterConv])).rows as Row[]).map(
        (r) => r.id as string,
      );
      const deleted = convs.length ? ((await x.query(PRUNE_LOG, [convs, olderThan])).rowCount ?? 0) : 0;
      return { deleted, next: convs.length < 500 ? null : convs.at(-1)! };
    });
  }

  storeReceipts(items: ReceiptItem[], now: number): Promise<RoutedEntry[]> {
    return this.w.run(async (x) => {
      const out: RoutedEntry[] = [];
      for (const i of items) {
        const dev = splitAddress(i.sender).deviceId;
        const rows = (
          await x.query(INSERT_INBOX, [
            [dev],
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
            `r/${i.hub}/${i.conversationId}/${i.seq}/${i.status}/${i.by}`,
            false,
            JSON.stringify(i.messageIds),
            now,
          ])
        ).rows as Row[];
        for (const r of rows) {
          out.push({
            deviceId: dev,
            entry: receiptEntry(r.id as number, i, now),
          });
        }
      }
      return out;
    });
  }

  async fetchInbox(deviceId: string, after: number, limit: number): Promise<InboxEntry[]> {
    const r = await this.pool
      .query('SELECT * FROM inbox WHERE device_id = $1 AND id > $2 ORDER BY id LIMIT $3', [deviceId, after, limit])
      .catch((e: unknown) => {
        throw unavailable(e);
      });
    return r.rows.map(toEntry);
  }

  /** One DELETE … RETURNING: the receipts owed are grouped from exactly the rows this call removed. */
  ackInbox(deviceId: string, ids: number[]): Promise<AckResult> {
    return this.w.run(async (x): Promise<AckResult> => {
      const rows = (
        await x.query(
          `DELETE FROM inbox WHERE device_id = $1 AND id = ANY($2::bigint[])
        RETURNING kind, conv_id, hub, sender, seq, message_id`,
          [deviceId, ids],
        )
      ).rows as Row[];
      const groups = new Map<string, AckedGroup>();
      const msgs = rows.filter((r) => r.kind !== 'receipt').sort((a, b) => (a.seq as number) - (b.seq as number));
      for (const r of msgs) {
        const k = `${r.sender as string}\n${r.hub as string}\n${r.conv_id as string}`;
        const g = groups.get(k);
        // ascending seq: the last one seen is the group's newest
        if (g) {
          g.messageIds.push(r.message_id as string);
          g.seq = r.seq as number;
          g.messageId = r.message_id as string;
        } else
          groups.set(k, {
            conversationId: r.conv_id as string,
            hub: r.hub as string,
            sender: r.sender as string,
            seq: r.seq as number,
            messageId: r.message_id as string,
            messageIds: [r.message_id as string],
          });
      }
      return { acked: rows.length, delivered: [...groups.values()] };
    });
  }
}
