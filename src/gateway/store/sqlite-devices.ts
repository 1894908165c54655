/**
 * The SQLite store's enrollment, device and replay-protection half. One writer connection
 * owns the file at a time (the write batcher's BEGIN IMMEDIATE; the admin CLI waits on
 * busy_timeout), so the checks here are plain reads inside the batch's transaction.
 */
import type Database from 'better-sqlite3';
import type { WriteBatcher } from './batch';
import { toDevice } from './rows';
import type { DeviceRecord, EnrollCode, EnrollOutcome, IdentityRecord } from './types';

type Row = Record<string, unknown>;

export class SqliteDevices {
  private readonly revocations: Database.Statement;

  /** @param activeCache the delivery half's cache of active devices (sqlite-delivery.ts): a revoked device leaves it at once */
  constructor(
    private readonly db: Database.Database,
    private readonly w: WriteBatcher,
    private readonly activeCache: Map<string, [boolean, number]>,
  ) {
    this.revocations = db.prepare('SELECT seq, device_id FROM revocations WHERE seq > ? ORDER BY seq LIMIT 1000');
  }

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
  removeIdentity(employeeId: string) {
    return this.w.run(() => this.db.prepare('DELETE FROM identities WHERE employee_id = ?').run(employeeId).changes > 0);
  }
  async getIdentity(employeeId: string): Promise<IdentityRecord | null> {
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
    return (this.revocations.all(after) as Row[]).map((r) => ({ seq: r.seq as number, deviceId: r.device_id as string }));
  }

  useNonce(key: string, expiresAt: number, now: number) {
    return this.w.run(() => this.nonceIn(key, expiresAt, now));
  }
  /** useNonce's work, inside a write the caller runs */
  nonceIn(key: string, expiresAt: number, now: number): boolean {
    // a few rows per call keeps the table at the window's size without a timer
    this.db
      .prepare('DELETE FROM fed_nonces WHERE key IN (SELECT key FROM fed_nonces WHERE expires_at < ? ORDER BY expires_at LIMIT 16)')
      .run(now);
    return this.db.prepare('INSERT OR IGNORE INTO fed_nonces (key, expires_at) VALUES (?, ?)').run(key, expiresAt).changes > 0;
  }
}
