/**
 * PostgreSQL implementation of Store (node-postgres), for several gateway instances sharing
 * one database. Writes go through group commit (pg-batch.ts) with synchronous_commit=on set
 * on every connection, so a promise resolves only once its write is durable on the primary.
 * Nothing is cached between calls: another instance may have written since.
 */
import pg from 'pg';
import type { PoolClient } from 'pg';
import type { InboxEntry } from '../../wire/protocol';
import { PgWriteBatcher, unavailable } from './pg-batch';
import { migratePg } from './pg-schema';
import { PgDelivery } from './pg-delivery';
import { PgDevices } from './pg-devices';
import { PgSubmit } from './pg-submit';
import { PgLinks } from './pg-links';
import type {
  Contact,
  Conversation,
  Delivery,
  DeviceRecord,
  EnrollCode,
  HubResult,
  IdentityRecord,
  HubSubmission,
  LinkSessionOpen,
  LinkSide,
  OutboxItem,
  OutboxRow,
  Partner,
  PartnerStatus,
  NonceUse,
  ReceiptItem,
  RoutedEntry,
  Store,
  AckResult,
} from './types';

type Row = Record<string, unknown>;
/** hub batches in flight at once, each on its own connection (pg-submit.ts, hub-slots.ts) */
const HUB_SLOTS = 4;

const toPartner = (r: Row): Partner => ({
  domain: r.domain as string,
  status: r.status as PartnerStatus,
  fingerprint: (r.fingerprint as string | null) ?? null,
  createdAt: r.created_at as number,
});

/** BIGINT columns hold millisecond times and counters, all far below 2^53: read them as numbers. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export class PgStore implements Store {
  private readonly w: PgWriteBatcher;
  private readonly d: PgDelivery;
  private readonly dev: PgDevices;
  private readonly hub: PgSubmit;
  private readonly links: PgLinks;

  private constructor(readonly pool: pg.Pool) {
    this.w = new PgWriteBatcher(pool);
    this.d = new PgDelivery(pool, this.w);
    this.dev = new PgDevices(pool, this.w);
    this.hub = new PgSubmit(pool, () => new PgWriteBatcher(pool), HUB_SLOTS);
    this.links = new PgLinks(pool, this.w);
  }

  /**
   * Connects, migrates, and returns the store. @param poolSize connections of this instance:
   * one per hub batch in flight and for the other writes, the rest for reads
   */
  static async open(url: string, poolSize = HUB_SLOTS + 8): Promise<PgStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      types,
      connectionTimeoutMillis: 5000,
      // every write durable before it is acknowledged, whatever the server's default
      options: '-c synchronous_commit=on',
    });
    // an idle connection dropped by the server must not crash the process; the next query reconnects
    pool.on('error', () => undefined);
    const c = await pool.connect().catch(async (e: unknown) => {
      await pool.end();
      throw e;
    });
    try {
      await migratePg(c);
    } catch (e) {
      c.release();
      await pool.end();
      throw e;
    }
    c.release();
    return new PgStore(pool);
  }

  private async q<T = Row>(sql: string, args: unknown[] = []): Promise<T[]> {
    try {
      return (await this.pool.query(sql, args)).rows as T[];
    } catch (e) {
      throw unavailable(e);
    }
  }
  private write<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return this.w.run(fn);
  }

  // ---- enrollment, devices, revocations (pg-devices.ts) ----
  createEnrollCode(c: EnrollCode) {
    return this.dev.createEnrollCode(c);
  }
  getEnrollCode(codeHash: string, now: number) {
    return this.dev.getEnrollCode(codeHash, now);
  }
  enrollDevice(codeHash: string, d: DeviceRecord, now: number, identity?: IdentityRecord) {
    return this.dev.enrollDevice(codeHash, d, now, identity);
  }
  getIdentity(employeeId: string) {
    return this.dev.getIdentity(employeeId);
  }
  removeIdentity(employeeId: string) {
    return this.dev.removeIdentity(employeeId);
  }
  addDevice(d: DeviceRecord) {
    return this.dev.addDevice(d);
  }
  getDevice(id: string) {
    return this.dev.getDevice(id);
  }
  listDevices(opts?: { employeeId?: string; includeRevoked?: boolean }) {
    return this.dev.listDevices(opts);
  }
  revokeDevice(id: string, now: number) {
    return this.dev.revokeDevice(id, now);
  }
  revocationSeq() {
    return this.dev.revocationSeq();
  }
  revocationsAfter(after: number) {
    return this.dev.revocationsAfter(after);
  }

  // ---- contacts and partners ----
  async upsertContact(id: string, name: string) {
    await this.write((x) =>
      x.query('INSERT INTO contacts (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name', [id, name]),
    );
  }
  async setContactMembers(id: string, add: string[], remove: string[]) {
    await this.write(async (x) => {
      if (add.length) await x.query('INSERT INTO contact_members SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING', [id, add]);
      if (remove.length) await x.query('DELETE FROM contact_members WHERE contact_id = $1 AND employee_id = ANY($2::text[])', [id, remove]);
    });
  }
  removeContact(id: string) {
    return this.write(async (x) => ((await x.query('DELETE FROM contacts WHERE id = $1', [id])).rowCount ?? 0) > 0);
  }
  async listContacts(): Promise<Contact[]> {
    const rows =
      await this.q(`SELECT c.id, c.name, COALESCE(array_agg(m.employee_id ORDER BY m.employee_id COLLATE "C") FILTER (WHERE m.employee_id IS NOT NULL), '{}') AS members
      FROM contacts c LEFT JOIN contact_members m ON m.contact_id = c.id GROUP BY c.id, c.name ORDER BY c.id COLLATE "C"`);
    return rows.map((r) => ({ id: r.id as string, name: r.name as string, members: r.members as string[] }));
  }
  async getContact(id: string): Promise<Contact | null> {
    const r = (await this.q('SELECT name FROM contacts WHERE id = $1', [id]))[0];
    if (!r) return null;
    const members = (
      await this.q('SELECT employee_id FROM contact_members WHERE contact_id = $1 ORDER BY employee_id COLLATE "C"', [id])
    ).map((m) => m.employee_id as string);
    return { id, name: r.name as string, members };
  }
  async setPartner(domain: string, status: PartnerStatus, fingerprint: string | null) {
    await this.write((x) =>
      x.query(
        `INSERT INTO partners (domain, status, fingerprint, created_at) VALUES ($1,$2,$3,$4)
      ON CONFLICT (domain) DO UPDATE SET status = excluded.status, fingerprint = COALESCE(excluded.fingerprint, partners.fingerprint)`,
        [domain, status, fingerprint, Date.now()],
      ),
    );
  }
  async getPartner(domain: string) {
    const r = (await this.q('SELECT * FROM partners WHERE domain = $1', [domain]))[0];
    return r ? toPartner(r) : null;
  }
  async listPartners() {
    return (await this.q('SELECT * FROM partners ORDER BY domain COLLATE "C"')).map(toPartner);
  }
  removePartner(domain: string) {
    return this.write(async (x) => ((await x.query('DELETE FROM partners WHERE domain = $1', [domain])).rowCount ?? 0) > 0);
  }

  // ---- key packages ----
  addKeyPackages(deviceId: string, packages: string[], lastResort?: string) {
    return this.write(async (x) => {
      if (packages.length)
        await x.query('INSERT INTO key_packages (device_id, data, last_resort) SELECT $1, unnest($2::text[]), false', [deviceId, packages]);
      if (lastResort !== undefined) {
        await x.query('DELETE FROM key_packages WHERE device_id = $1 AND last_resort', [deviceId]);
        await x.query('INSERT INTO key_packages (device_id, data, last_resort) VALUES ($1, $2, true)', [deviceId, lastResort]);
      }
      return packages.length + (lastResort !== undefined ? 1 : 0);
    });
  }
  async countKeyPackages(deviceId: string) {
    const r = (
      await this.q(
        'SELECT count(*) FILTER (WHERE NOT last_resort) AS n, count(*) FILTER (WHERE last_resort) AS lr FROM key_packages WHERE device_id = $1',
        [deviceId],
      )
    )[0]!;
    return { available: Number(r.n), lastResort: Number(r.lr) > 0 };
  }
  claimKeyPackages(deviceIds: string[], lastResortOnly: string[] = []) {
    const spent = new Set(lastResortOnly);
    return this.write(async (x) => {
      const out: { deviceId: string; keyPackage: string; lastResort: boolean }[] = [];
      for (const d of deviceIds) {
        // SKIP LOCKED: an instance claiming for the same device at the same time takes the next package, never the same one
        const one = spent.has(d)
          ? undefined
          : ((
              await x.query(
                `DELETE FROM key_packages WHERE id = (SELECT id FROM key_packages WHERE device_id = $1 AND NOT last_resort
          ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING data`,
                [d],
              )
            ).rows[0] as Row | undefined);
        if (one) {
          out.push({ deviceId: d, keyPackage: one.data as string, lastResort: false });
          continue;
        }
        const lr = (await x.query('SELECT data FROM key_packages WHERE device_id = $1 AND last_resort', [d])).rows[0] as Row | undefined;
        if (lr) out.push({ deviceId: d, keyPackage: lr.data as string, lastResort: true });
      }
      return out;
    });
  }

  // ---- delivery (pg-delivery.ts) ----
  createConversation(id: string, creator: string, now: number) {
    return this.write(
      async (x) =>
        ((
          await x.query(
            `INSERT INTO conversations (id, epoch, members, next_seq, created_by, created_at)
      VALUES ($1, 0, $2, 1, $3, $4) ON CONFLICT (id) DO NOTHING`,
            [id, JSON.stringify([creator]), creator, now],
          )
        ).rowCount ?? 0) > 0,
    );
  }
  async getConversation(id: string): Promise<Conversation | null> {
    const r = (await this.q('SELECT epoch, members, created_by FROM conversations WHERE id = $1', [id]))[0];
    return r ? { id, epoch: r.epoch as number, members: r.members as string[], createdBy: r.created_by as string } : null;
  }
  submitToHub(s: HubSubmission, hub: string, now: number): Promise<HubResult> {
    return this.hub.submitToHub(s, hub, now);
  }
  storeDeliveries(items: Delivery[], now: number): Promise<RoutedEntry[]> {
    return this.d.storeDeliveries(items, now);
  }
  storeReceipts(items: ReceiptItem[], now: number): Promise<RoutedEntry[]> {
    return this.d.storeReceipts(items, now);
  }
  fetchInbox(deviceId: string, after: number, limit: number): Promise<InboxEntry[]> {
    return this.d.fetchInbox(deviceId, after, limit);
  }
  ackInbox(deviceId: string, ids: number[]): Promise<AckResult> {
    return this.d.ackInbox(deviceId, ids);
  }
  async enqueueOutbox(items: { peer: string; item: OutboxItem }[]) {
    if (!items.length) return;
    const now = Date.now();
    await this.write((x) =>
      x.query('INSERT INTO outbox (peer, item, created_at) SELECT unnest($1::text[]), unnest($2::text[]), $3', [
        items.map((i) => i.peer),
        items.map((i) => JSON.stringify(i.item)),
        now,
      ]),
    );
  }
  async peekOutbox(peer: string, limit: number, afterId = 0): Promise<OutboxRow[]> {
    return (await this.q('SELECT id, peer, item FROM outbox WHERE peer = $1 AND id > $2 ORDER BY id LIMIT $3', [peer, afterId, limit])).map(
      (r) => ({ id: r.id as number, peer: r.peer as string, item: JSON.parse(r.item as string) as OutboxItem }),
    );
  }
  async deleteOutbox(ids: number[]) {
    if (ids.length) await this.write((x) => x.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [ids]));
  }
  async outboxPeers() {
    return (await this.q('SELECT DISTINCT peer FROM outbox')).map((r) => r.peer as string);
  }
  expireInbox(olderThan: number) {
    return this.write(
      async (x) =>
        (await x.query('DELETE FROM inbox WHERE ctid IN (SELECT ctid FROM inbox WHERE created_at < $1 LIMIT 50000)', [olderThan]))
          .rowCount ?? 0,
    );
  }

  addRemoteMember(conversationId: string, hub: string, deviceId: string) {
    return this.d.addRemoteMember(conversationId, hub, deviceId);
  }
  isRemoteMember(conversationId: string, hub: string, deviceId: string) {
    return this.d.isRemoteMember(conversationId, hub, deviceId);
  }
  pruneLog(olderThan: number, afterConv: string) {
    return this.d.pruneLog(olderThan, afterConv);
  }
  useNonce(key: string, expiresAt: number, now: number) {
    return this.dev.useNonce(key, expiresAt, now);
  }
  storeFromPeer(nonce: NonceUse, deliveries: Delivery[], receipts: ReceiptItem[], now: number) {
    return this.w.run(async (x) =>
      (await this.dev.nonceIn(x, nonce.key, nonce.expiresAt, now))
        ? [...(await this.d.deliveriesIn(x, deliveries, now)), ...(await this.d.receiptsIn(x, receipts, now))]
        : null,
    );
  }

  // ---- link sessions (pg-links.ts) ----
  openLinkSession(s: LinkSessionOpen, now: number, maxLive: number) {
    return this.links.open(s, now, maxLive);
  }
  joinLinkSession(locator: string, deviceId: string, now: number) {
    return this.links.join(locator, deviceId, now);
  }
  postLinkMessage(sessionId: string, side: LinkSide, body: string, now: number) {
    return this.links.post(sessionId, side, body, now);
  }
  readLinkMessages(sessionId: string, side: LinkSide, after: number, now: number) {
    return this.links.read(sessionId, side, after, now);
  }
  certifyLinkSession(sessionId: string, deviceId: string, now: number) {
    return this.links.certify(sessionId, deviceId, now);
  }
  pruneLinkSessions(now: number) {
    return this.links.prune(now);
  }

  async getMeta(key: string) {
    const r = (await this.q('SELECT value FROM meta WHERE key = $1', [key]))[0];
    return r ? (r.value as string) : null;
  }
  async setMeta(key: string, value: string) {
    await this.write((x) =>
      x.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]),
    );
  }
  close() {
    void this.pool.end();
  }
}
