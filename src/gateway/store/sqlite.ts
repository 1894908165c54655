/** SQLite implementation of Store (better-sqlite3, WAL, synchronous=FULL, group commit). */
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { startWorker } from './start-worker';
import type { InboxEntry } from '../../wire/protocol';
import { splitAddress } from '../../wire/schemas';
import { WriteBatcher } from './batch';
import { MIGRATIONS, SCHEMA_V1, SCHEMA_VERSION } from './schema';
import type {
  AckResult,
  Contact,
  Conversation,
  Delivery,
  DeviceRecord,
  EnrollCode,
  EnrollOutcome,
  IdentityRecord,
  HubResult,
  HubSubmission,
  OutboxItem,
  OutboxRow,
  Partner,
  PartnerStatus,
  ReceiptItem,
  RoutedEntry,
  Store,
} from './types';

type Row = Record<string, unknown>;
interface ConvState {
  epoch: number;
  members: string[];
  nextSeq: number;
}

function toEntry(r: Row): InboxEntry {
  const e: InboxEntry = {
    id: r.id as number,
    kind: r.kind as InboxEntry['kind'],
    conversationId: r.conv_id as string,
    hub: r.hub as string,
    seq: r.seq as number,
    messageId: r.message_id as string,
    epoch: r.epoch as number,
    sender: r.sender as string,
    receivedAt: r.created_at as number,
  };
  // stored as bytes (schema 3), sent as base64
  if (r.payload !== null) e.payload = (r.payload as Buffer).toString('base64');
  if (r.receipt_status !== null) {
    e.receipt = {
      status: r.receipt_status as 'partner' | 'delivered',
      by: r.receipt_by as string,
      messageIds: JSON.parse(r.receipt_ids as string),
    };
  }
  return e;
}

function toDevice(r: Row): DeviceRecord {
  return {
    deviceId: r.device_id as string,
    employeeId: r.employee_id as string,
    displayName: r.display_name as string,
    devicePublicKey: r.device_public_key as string,
    mlsSignatureKey: r.mls_signature_key as string,
    certificate: JSON.parse(r.certificate as string),
    createdAt: r.created_at as number,
    revokedAt: (r.revoked_at as number | null) ?? null,
  };
}

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
  private checkpointer: Worker | null = null;
  /** deviceId -> [active, checkedAt]: revocations by the admin CLI show within a second, as the disconnect poll does */
  private activeCache = new Map<string, [boolean, number]>();
  /**
   * Conversation rows as this connection last read or wrote them, saving a SELECT and a JSON
   * parse per message. Only the server's store writes conversations (the admin CLI does not),
   * and the cache is dropped whenever the write batcher rolls anything back.
   */
  private convCache = new Map<string, ConvState>();

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
    this.w = new WriteBatcher(this.db, () => this.convCache.clear());
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      insInbox: p(`INSERT OR IGNORE INTO inbox (device_id, kind, conv_id, hub, seq, message_id, epoch, sender, payload,
        receipt_status, receipt_by, receipt_ids, created_at, dedupe) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`),
      logById: p('SELECT seq, sender FROM log WHERE conv_id = ? AND message_id = ?'),
      // the UNIQUE (conv_id, message_id) constraint finds retries: no SELECT before each insert
      insLog: p('INSERT OR IGNORE INTO log (conv_id, seq, message_id, sender, created_at) VALUES (?,?,?,?,?)'),
      revocations: p('SELECT seq, device_id FROM revocations WHERE seq > ? ORDER BY seq LIMIT 1000'),
      conv: p('SELECT * FROM conversations WHERE id = ?'),
      lastSeq: p('SELECT MAX(seq) AS seq FROM log WHERE conv_id = ?'),
      convCommit: p('UPDATE conversations SET epoch = ?, members = ? WHERE id = ?'),
      activeDevice: p('SELECT 1 FROM devices WHERE device_id = ? AND revoked_at IS NULL'),
      addRemote: p('INSERT OR IGNORE INTO remote_members (conv_id, hub, device_id) VALUES (?,?,?)'),
      isRemote: p('SELECT 1 FROM remote_members WHERE conv_id = ? AND hub = ? AND device_id = ?'),
      insOutbox: p('INSERT INTO outbox (peer, item, created_at) VALUES (?,?,?)'),
      peekOutbox: p('SELECT id, peer, item FROM outbox WHERE peer = ? AND id > ? ORDER BY id LIMIT ?'),
      delOutbox: p('DELETE FROM outbox WHERE id = ?'),
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

  // ---- enrollment and devices ----
  async createEnrollCode(c: EnrollCode) {
    await this.w.run(() =>
      this.db
        .prepare('INSERT INTO enroll_codes (code, employee_id, display_name, expires_at) VALUES (?,?,?,?)')
        .run(c.code, c.employeeId, c.displayName, c.expiresAt),
    );
  }
  async getEnrollCode(codeHash: string, now: number) {
    const r = this.db.prepare('SELECT * FROM enroll_codes WHERE code = ? AND used_at IS NULL AND expires_at > ?').get(codeHash, now) as
      | Row
      | undefined;
    return r
      ? { code: codeHash, employeeId: r.employee_id as string, displayName: r.display_name as string, expiresAt: r.expires_at as number }
      : null;
  }
  enrollDevice(codeHash: string, d: DeviceRecord, now: number, identity?: IdentityRecord) {
    return this.w.run((): EnrollOutcome => {
      if (identity) {
        const known = this.db.prepare('SELECT identity_key FROM identities WHERE employee_id = ?').get(identity.employeeId) as
          | Row
          | undefined;
        if (known && known.identity_key !== identity.identityKey) return 'identity_exists';
      }
      const taken = this.db
        .prepare('SELECT 1 FROM devices WHERE device_public_key IN (?, ?) OR mls_signature_key IN (?, ?) LIMIT 1')
        .get(d.devicePublicKey, d.mlsSignatureKey, d.devicePublicKey, d.mlsSignatureKey);
      if (taken) return 'key_enrolled';
      // the code must still name the employee the certificate was made for
      const used = this.db
        .prepare(
          'UPDATE enroll_codes SET used_at = ? WHERE code = ? AND used_at IS NULL AND expires_at > ? AND employee_id = ? AND display_name = ?',
        )
        .run(now, codeHash, now, d.employeeId, d.displayName).changes;
      if (used === 0) return 'invalid_code';
      this.insertDevice(d);
      if (identity) {
        this.db
          .prepare('INSERT OR IGNORE INTO identities (employee_id, identity_key, certificate, created_at) VALUES (?,?,?,?)')
          .run(identity.employeeId, identity.identityKey, JSON.stringify(identity.certificate), identity.createdAt);
      }
      return 'ok';
    });
  }
  async getIdentity(employeeId: string) {
    const r = this.db.prepare('SELECT * FROM identities WHERE employee_id = ?').get(employeeId) as Row | undefined;
    return r
      ? {
          employeeId,
          identityKey: r.identity_key as string,
          certificate: JSON.parse(r.certificate as string),
          createdAt: r.created_at as number,
        }
      : null;
  }
  async addDevice(d: DeviceRecord) {
    await this.w.run(() => this.insertDevice(d));
  }
  private insertDevice(d: DeviceRecord): void {
    this.db
      .prepare(`INSERT INTO devices (device_id, employee_id, display_name, device_public_key,
      mls_signature_key, certificate, created_at) VALUES (?,?,?,?,?,?,?)`)
      .run(d.deviceId, d.employeeId, d.displayName, d.devicePublicKey, d.mlsSignatureKey, JSON.stringify(d.certificate), d.createdAt);
  }
  async getDevice(id: string) {
    const r = this.db.prepare('SELECT * FROM devices WHERE device_id = ?').get(id) as Row | undefined;
    return r ? toDevice(r) : null;
  }
  async listDevices(opts: { employeeId?: string; includeRevoked?: boolean } = {}) {
    const where: string[] = [];
    const args: string[] = [];
    if (opts.employeeId !== undefined) {
      where.push('employee_id = ?');
      args.push(opts.employeeId);
    }
    if (!opts.includeRevoked) where.push('revoked_at IS NULL');
    const sql = `SELECT * FROM devices ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(toDevice);
  }
  revokeDevice(id: string, now: number) {
    this.activeCache.delete(id);
    return this.w.run(() => {
      const changed =
        this.db.prepare('UPDATE devices SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL').run(now, id).changes > 0;
      if (changed) {
        this.db.prepare('DELETE FROM key_packages WHERE device_id = ?').run(id);
        this.db.prepare('INSERT INTO revocations (device_id, revoked_at) VALUES (?, ?)').run(id, now);
      }
      return changed;
    });
  }
  async revocationSeq() {
    return (this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'revocations'").get() as { seq: number } | undefined)?.seq ?? 0;
  }
  async revocationsAfter(after: number) {
    return (this.stmt('revocations').all(after) as Row[]).map((r) => ({ seq: r.seq as number, deviceId: r.device_id as string }));
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
    const r = this.db.prepare('SELECT * FROM partners WHERE domain = ?').get(domain) as Row | undefined;
    return r
      ? {
          domain,
          status: r.status as PartnerStatus,
          fingerprint: (r.fingerprint as string | null) ?? null,
          createdAt: r.created_at as number,
        }
      : null;
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

  // ---- delivery ----
  createConversation(id: string, creator: string, now: number) {
    return this.w.run(
      () =>
        this.db
          .prepare('INSERT OR IGNORE INTO conversations (id, epoch, members, created_by, created_at) VALUES (?,0,?,?,?)')
          .run(id, JSON.stringify([creator]), creator, now).changes > 0,
    );
  }
  async getConversation(id: string): Promise<Conversation | null> {
    const r = this.stmt('conv').get(id) as Row | undefined;
    return r ? { id, epoch: r.epoch as number, members: JSON.parse(r.members as string), createdBy: r.created_by as string } : null;
  }

  submitToHub(s: HubSubmission, hub: string, now: number): Promise<HubResult> {
    return this.w.run((): HubResult => {
      const c = this.conversationState(s.conversationId);
      if (!c) return { ok: false, code: 'not_found', message: 'unknown conversation' };
      const routed = this.route(s, c);
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
      const byDomain = new Map<string, string[]>();
      for (const r of routed) {
        const { deviceId, domain } = splitAddress(r);
        const list = byDomain.get(domain);
        if (list) list.push(deviceId);
        else byDomain.set(domain, [deviceId]);
      }
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

  /** The recipients of a submission, or why the conversation refuses it. */
  private route(s: HubSubmission, c: ConvState): string[] | Extract<HubResult, { ok: false }> {
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
            entry: {
              id,
              kind: d.kind,
              conversationId: d.conversationId,
              hub: d.hub,
              seq: d.seq,
              messageId: d.messageId,
              epoch: d.epoch,
              sender: d.sender,
              payload: d.payload,
              receivedAt: now,
            },
          });
        }
      }
    }
    return out;
  }
  storeDeliveries(items: Delivery[], now: number) {
    return this.w.run(() => {
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
    });
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
    return this.w.run(() => {
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
            entry: {
              id,
              kind: 'receipt',
              conversationId: i.conversationId,
              hub: i.hub,
              seq: i.seq,
              messageId: i.messageId,
              epoch: 0,
              sender: i.sender,
              receipt: { status: i.status, by: i.by, messageIds: i.messageIds },
              receivedAt: now,
            },
          });
        }
      }
      return out;
    });
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
  async enqueueOutbox(items: { peer: string; item: OutboxItem }[]) {
    const now = Date.now();
    await this.w.run(() => {
      for (const i of items) this.stmt('insOutbox').run(i.peer, JSON.stringify(i.item), now);
    });
  }
  async peekOutbox(peer: string, limit: number, afterId = 0): Promise<OutboxRow[]> {
    return (this.stmt('peekOutbox').all(peer, afterId, limit) as Row[]).map((r) => ({
      id: r.id as number,
      peer: r.peer as string,
      item: JSON.parse(r.item as string) as OutboxItem,
    }));
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

  useNonce(key: string, expiresAt: number, now: number) {
    return this.w.run(() => {
      // a few rows per call keeps the table at the window's size without a timer
      this.db
        .prepare('DELETE FROM fed_nonces WHERE key IN (SELECT key FROM fed_nonces WHERE expires_at < ? ORDER BY expires_at LIMIT 16)')
        .run(now);
      return this.db.prepare('INSERT OR IGNORE INTO fed_nonces (key, expires_at) VALUES (?, ?)').run(key, expiresAt).changes > 0;
    });
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
