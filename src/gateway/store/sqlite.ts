/**
 * SQLite implementation of Store (better-sqlite3, WAL, synchronous=FULL, group commit).
 * This file opens and migrates the database and holds what pg.ts holds for PostgreSQL;
 * enrollment and devices are in sqlite-devices.ts, the hub and inboxes in sqlite-delivery.ts.
 */
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { startWorker } from './start-worker';
import { WriteBatcher } from './batch';
import { MIGRATIONS, SCHEMA_V1, SCHEMA_VERSION } from './schema';
import { SqliteDelivery } from './sqlite-delivery';
import { SqliteDevices } from './sqlite-devices';
import { SqliteLinks } from './sqlite-links';
import { readConversation, readOutbox, readPartner } from './sqlite-reads';
import type {
  Contact,
  Conversation,
  Delivery,
  DeviceRecord,
  EnrollCode,
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
  Store,
} from './types';

type Row = Record<string, unknown>;

/**
 * Owner-only database files, also where an older gateway or the operator left them readable
 * (the gateway's umask covers files created from now on, main.ts).
 */
export function restrictFiles(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly w: WriteBatcher;
  private readonly s: Record<string, Database.Statement>;
  private readonly d: SqliteDelivery;
  private readonly dev: SqliteDevices;
  private readonly links: SqliteLinks;
  private checkpointer: Worker | null = null;

  /** @param checkpointInBackground the server passes true; short-lived admin commands keep auto-checkpoint */
  constructor(file: string, checkpointInBackground = false) {
    // before opening: SQLite gives a new -wal and -shm the database file's mode
    restrictFiles(file);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    // Each write of a group commit runs in its own savepoint, and SQLite keeps the savepoint's
    // statement journal (the pages it may need to roll back) in a temporary file once it passes
    // 64 KB: with temp files on disk that was two pwrite calls per touched page per message.
    // Kept in memory it only matters until the savepoint is released; the WAL is unchanged.
    this.db.pragma('temp_store = MEMORY');
    // the admin CLI writes to the same file while the server runs
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    restrictFiles(file);
    if (checkpointInBackground) {
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = startWorker('./checkpoint-worker', import.meta.url, { file, intervalMs: 500 });
      this.checkpointer.unref();
      this.checkpointer.on('error', () => this.db.pragma('wal_autocheckpoint = 1000'));
    }
    this.w = new WriteBatcher(this.db, () => this.d.rolledBack());
    this.d = new SqliteDelivery(this.db, this.w);
    this.dev = new SqliteDevices(this.db, this.w, this.d.activeCache);
    this.links = new SqliteLinks(this.db, this.w);
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      insOutbox: p('INSERT INTO outbox (peer, item, created_at) VALUES (?,?,?)'),
      delOutbox: p('DELETE FROM outbox WHERE id = ?'),
    };
  }

  /** Brings the file to SCHEMA_VERSION, all steps in one transaction. */
  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new Error(`database schema ${version} is newer than this gateway (${SCHEMA_VERSION})`);
    if (version === SCHEMA_VERSION) return;
    this.db
      .transaction(() => {
        if (version < 1) this.db.exec(SCHEMA_V1);
        for (let v = Math.max(version, 1) + 1; v <= SCHEMA_VERSION; v++) {
          const step = MIGRATIONS[v]!;
          if (typeof step === 'string') this.db.exec(step);
          else step(this.db);
        }
        this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })
      .immediate();
  }

  private stmt(name: string): Database.Statement {
    return this.s[name]!;
  }

  // ---- enrollment, devices, revocations (sqlite-devices.ts) ----
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
    await this.w.run(() =>
      this.db.prepare('INSERT INTO contacts (id, name) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name').run(id, name),
    );
  }
  async setContactMembers(id: string, add: string[], remove: string[]) {
    await this.w.run(() => {
      for (const e of add) this.db.prepare('INSERT OR IGNORE INTO contact_members VALUES (?, ?)').run(id, e);
      for (const e of remove) this.db.prepare('DELETE FROM contact_members WHERE contact_id = ? AND employee_id = ?').run(id, e);
    });
  }
  removeContact(id: string) {
    return this.w.run(() => this.db.prepare('DELETE FROM contacts WHERE id = ?').run(id).changes > 0);
  }
  async listContacts(): Promise<Contact[]> {
    const rows = this.db.prepare('SELECT id, name FROM contacts ORDER BY id').all() as Row[];
    return Promise.all(rows.map(async (r) => (await this.getContact(r.id as string))!));
  }
  async getContact(id: string): Promise<Contact | null> {
    const r = this.db.prepare('SELECT id, name FROM contacts WHERE id = ?').get(id) as Row | undefined;
    if (!r) return null;
    const members = (
      this.db.prepare('SELECT employee_id FROM contact_members WHERE contact_id = ? ORDER BY employee_id').all(id) as Row[]
    ).map((m) => m.employee_id as string);
    return { id, name: r.name as string, members };
  }
  async setPartner(domain: string, status: PartnerStatus, fingerprint: string | null) {
    await this.w.run(() =>
      this.db
        .prepare(`INSERT INTO partners (domain, status, fingerprint, created_at) VALUES (?,?,?,?)
      ON CONFLICT(domain) DO UPDATE SET status = excluded.status, fingerprint = COALESCE(excluded.fingerprint, partners.fingerprint)`)
        .run(domain, status, fingerprint, Date.now()),
    );
  }
  async getPartner(domain: string): Promise<Partner | null> {
    return readPartner(this.db, domain);
  }
  async listPartners(): Promise<Partner[]> {
    return (this.db.prepare('SELECT * FROM partners ORDER BY domain').all() as Row[]).map((r) => ({
      domain: r.domain as string,
      status: r.status as PartnerStatus,
      fingerprint: (r.fingerprint as string | null) ?? null,
      createdAt: r.created_at as number,
    }));
  }
  removePartner(domain: string) {
    return this.w.run(() => this.db.prepare('DELETE FROM partners WHERE domain = ?').run(domain).changes > 0);
  }

  // ---- key packages ----
  addKeyPackages(deviceId: string, packages: string[], lastResort?: string) {
    return this.w.run(() => {
      const ins = this.db.prepare('INSERT INTO key_packages (device_id, data, last_resort) VALUES (?,?,?)');
      for (const kp of packages) ins.run(deviceId, kp, 0);
      if (lastResort !== undefined) {
        this.db.prepare('DELETE FROM key_packages WHERE device_id = ? AND last_resort = 1').run(deviceId);
        ins.run(deviceId, lastResort, 1);
      }
      return packages.length + (lastResort !== undefined ? 1 : 0);
    });
  }
  async countKeyPackages(deviceId: string) {
    const r = this.db
      .prepare('SELECT SUM(last_resort = 0) AS n, SUM(last_resort = 1) AS lr FROM key_packages WHERE device_id = ?')
      .get(deviceId) as Row;
    return { available: Number(r.n ?? 0), lastResort: Number(r.lr ?? 0) > 0 };
  }
  claimKeyPackages(deviceIds: string[], lastResortOnly: string[] = []) {
    const spent = new Set(lastResortOnly);
    return this.w.run(() => {
      const out: { deviceId: string; keyPackage: string; lastResort: boolean }[] = [];
      for (const d of deviceIds) {
        // one-time packages first (lowest last_resort), then the last-resort one, which stays
        const r = this.db
          .prepare(`SELECT id, data, last_resort FROM key_packages WHERE device_id = ? ${spent.has(d) ? 'AND last_resort = 1' : ''}
          ORDER BY last_resort, id LIMIT 1`)
          .get(d) as Row | undefined;
        if (!r) continue;
        if (r.last_resort === 0) this.db.prepare('DELETE FROM key_packages WHERE id = ?').run(r.id);
        out.push({ deviceId: d, keyPackage: r.data as string, lastResort: r.last_resort === 1 });
      }
      return out;
    });
  }
  // ---- delivery (sqlite-delivery.ts) ----
  createConversation(id: string, creator: string, now: number) {
    return this.w.run(
      () =>
        this.db
          .prepare('INSERT OR IGNORE INTO conversations (id, epoch, members, created_by, created_at) VALUES (?,0,?,?,?)')
          .run(id, JSON.stringify([creator]), creator, now).changes > 0,
    );
  }
  async getConversation(id: string): Promise<Conversation | null> {
    return readConversation(this.db, id);
  }
  submitToHub(s: HubSubmission, hub: string, now: number) {
    return this.d.submitToHub(s, hub, now);
  }
  storeDeliveries(items: Delivery[], now: number) {
    return this.d.storeDeliveries(items, now);
  }
  storeReceipts(items: ReceiptItem[], now: number) {
    return this.d.storeReceipts(items, now);
  }
  fetchInbox(deviceId: string, after: number, limit: number) {
    return this.d.fetchInbox(deviceId, after, limit);
  }
  ackInbox(deviceId: string, ids: number[]) {
    return this.d.ackInbox(deviceId, ids);
  }
  async enqueueOutbox(items: { peer: string; item: OutboxItem }[]) {
    const now = Date.now();
    await this.w.run(() => {
      for (const i of items) this.stmt('insOutbox').run(i.peer, JSON.stringify(i.item), now);
    });
  }
  async peekOutbox(peer: string, limit: number, afterId = 0): Promise<OutboxRow[]> {
    return readOutbox(this.db, peer, limit, afterId);
  }
  async deleteOutbox(ids: number[]) {
    await this.w.run(() => {
      for (const id of ids) this.stmt('delOutbox').run(id);
    });
  }
  async outboxPeers() {
    return (this.db.prepare('SELECT DISTINCT peer FROM outbox').all() as Row[]).map((r) => r.peer as string);
  }
  expireInbox(olderThan: number) {
    // ids grow with time, so the oldest rows are a prefix of the primary key: no extra index needed
    return this.w.run(
      () =>
        this.db.prepare('DELETE FROM inbox WHERE id IN (SELECT id FROM inbox ORDER BY id LIMIT 50000) AND created_at < ?').run(olderThan)
          .changes,
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
    return this.w.run(() =>
      this.dev.nonceIn(nonce.key, nonce.expiresAt, now)
        ? [...this.d.deliveriesIn(deliveries, now), ...this.d.receiptsIn(receipts, now)]
        : null,
    );
  }

  // ---- link sessions (sqlite-links.ts) ----
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
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined;
    return r ? (r.value as string) : null;
  }
  async setMeta(key: string, value: string) {
    await this.w.run(() => this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value));
  }
  close() {
    this.checkpointer?.postMessage('stop');
    this.db.close();
  }
}
