/**
 * The PostgreSQL store's delivery half: partners' deliveries, receipts, inboxes and
 * acknowledgements (the hub's submissions are in pg-submit.ts). Inbox rows are numbered per
 * device from inbox_heads (see pg-schema.ts), heads locked in device order to keep
 * deadlocks rare (pg-batch.ts retries the ones that happen).
 */
import type { Pool, PoolClient } from 'pg';
import type { InboxEntry } from '../../wire/protocol';
import { splitAddress } from '../../wire/schemas';
import { unavailable, type PgWriteBatcher } from './pg-batch';
import { deliveryEntry, receiptEntry, toEntry } from './rows';
import type { AckResult, AckedGroup, Delivery, ReceiptItem, RoutedEntry } from './types';

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

export class PgDelivery {
  constructor(
    private readonly pool: Pool,
    private readonly w: PgWriteBatcher,
  ) {}

  storeDeliveries(items: Delivery[], now: number): Promise<RoutedEntry[]> {
    return this.w.run((x) => this.deliveriesIn(x, items, now));
  }

  /** storeDeliveries' work, inside a write the caller runs */
  async deliveriesIn(x: PoolClient, items: Delivery[], now: number): Promise<RoutedEntry[]> {
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
    return this.w.run((x) => this.receiptsIn(x, items, now));
  }

  /** storeReceipts' work, inside a write the caller runs */
  async receiptsIn(x: PoolClient, items: ReceiptItem[], now: number): Promise<RoutedEntry[]> {
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
