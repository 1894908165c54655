/**
 * The PostgreSQL store's enrollment, device and replay-protection half. What must hold across
 * instances is decided in the database: a code enrolls one device and a key one device
 * (enrollDevice), revocations become visible in the order of their numbers (revokeDevice),
 * and a federation nonce is accepted once by whichever instance sees it first (useNonce).
 */
import type { Pool, PoolClient } from 'pg';
import { unavailable, type PgWriteBatcher } from './pg-batch';
import { toDevice } from './rows';
import type { DeviceRecord, EnrollCode, EnrollOutcome, IdentityRecord } from './types';

type Row = Record<string, unknown>;

/** transaction-level advisory lock keys (pg_advisory_xact_lock): held until COMMIT is visible */
const REVOCATION_LOCK = 'kontor:revocations';
const ENROLL_LOCK = 'kontor:enroll';
const lock = (x: PoolClient, key: string) => x.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);

export class PgDevices {
  constructor(
    private readonly pool: Pool,
    private readonly w: PgWriteBatcher,
  ) {}

  private async q(sql: string, args: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query(sql, args)).rows as Row[];
    } catch (e) {
      throw unavailable(e);
    }
  }

  async createEnrollCode(c: EnrollCode): Promise<void> {
    await this.w.run((x) =>
      x.query('INSERT INTO enroll_codes (code, employee_id, display_name, expires_at) VALUES ($1,$2,$3,$4)', [
        c.code,
        c.employeeId,
        c.displayName,
        c.expiresAt,
      ]),
    );
  }

  async getEnrollCode(codeHash: string, now: number): Promise<EnrollCode | null> {
    const r = (await this.q('SELECT * FROM enroll_codes WHERE code = $1 AND used_at IS NULL AND expires_at > $2', [codeHash, now]))[0];
    return r
      ? { code: codeHash, employeeId: r.employee_id as string, displayName: r.display_name as string, expiresAt: r.expires_at as number }
      : null;
  }

  enrollDevice(codeHash: string, d: DeviceRecord, now: number, identity?: IdentityRecord): Promise<EnrollOutcome> {
    return this.w.run(async (x): Promise<EnrollOutcome> => {
      // Two instances enrolling the same key with two codes would each find it free and both
      // insert: enrollments wait for each other (they are rare). Read committed takes a new
      // snapshot per statement, so the check below sees what the previous holder committed.
      await lock(x, ENROLL_LOCK);
      // under the same lock: two first devices of one employee cannot each certify their own identity key
      if (identity) {
        const known = await x.query('SELECT identity_key FROM identities WHERE employee_id = $1', [identity.employeeId]);
        if (known.rowCount && known.rows[0].identity_key !== identity.identityKey) return 'identity_exists';
      }
      const keys = [d.devicePublicKey, d.mlsSignatureKey];
      const taken = await x.query(
        'SELECT 1 FROM devices WHERE device_public_key = ANY($1::text[]) OR mls_signature_key = ANY($1::text[]) LIMIT 1',
        [keys],
      );
      if (taken.rowCount) return 'key_enrolled';
      // the code must still name the employee the certificate was made for
      const used = await x.query(
        `UPDATE enroll_codes SET used_at = $1 WHERE code = $2 AND used_at IS NULL AND expires_at > $1
        AND employee_id = $3 AND display_name = $4`,
        [now, codeHash, d.employeeId, d.displayName],
      );
      if (!used.rowCount) return 'invalid_code';
      await insertDevice(x, d);
      if (identity) {
        await x.query(
          'INSERT INTO identities (employee_id, identity_key, certificate, created_at) VALUES ($1,$2,$3,$4) ON CONFLICT (employee_id) DO NOTHING',
          [identity.employeeId, identity.identityKey, JSON.stringify(identity.certificate), identity.createdAt],
        );
      }
      return 'ok';
    });
  }

  removeIdentity(employeeId: string): Promise<boolean> {
    return this.w.run(async (x) => ((await x.query('DELETE FROM identities WHERE employee_id = $1', [employeeId])).rowCount ?? 0) > 0);
  }

  async getIdentity(employeeId: string): Promise<IdentityRecord | null> {
    const r = (await this.q('SELECT * FROM identities WHERE employee_id = $1', [employeeId]))[0];
    return r
      ? {
          employeeId,
          identityKey: r.identity_key as string,
          certificate: JSON.parse(r.certificate as string),
          createdAt: r.created_at as number,
        }
      : null;
  }

  async addDevice(d: DeviceRecord): Promise<void> {
    await this.w.run((x) => insertDevice(x, d));
  }

  async getDevice(id: string): Promise<DeviceRecord | null> {
    const r = (await this.q('SELECT * FROM devices WHERE device_id = $1', [id]))[0];
    return r ? toDevice(r) : null;
  }

  async listDevices(opts: { employeeId?: string; includeRevoked?: boolean } = {}): Promise<DeviceRecord[]> {
    const where: string[] = [];
    const args: string[] = [];
    if (opts.employeeId !== undefined) {
      args.push(opts.employeeId);
      where.push(`employee_id = $${args.length}`);
    }
    if (!opts.includeRevoked) where.push('revoked_at IS NULL');
    return (
      await this.q(`SELECT * FROM devices ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at, device_id`, args)
    ).map(toDevice);
  }

  revokeDevice(id: string, now: number): Promise<boolean> {
    return this.w.run(async (x) => {
      // The number is drawn under a lock released only once this transaction's commit is
      // visible: a later revocation cannot draw a higher number and become visible first,
      // which would move every instance's poll cursor past this one for good (pg-schema.ts).
      await lock(x, REVOCATION_LOCK);
      const changed =
        ((await x.query('UPDATE devices SET revoked_at = $1 WHERE device_id = $2 AND revoked_at IS NULL', [now, id])).rowCount ?? 0) > 0;
      if (changed) {
        await x.query('DELETE FROM key_packages WHERE device_id = $1', [id]);
        await x.query('INSERT INTO revocations (device_id, revoked_at) VALUES ($1, $2)', [id, now]);
      }
      return changed;
    });
  }

  /** the newest committed number: an uncommitted one (drawn under the lock) is found by the next poll */
  async revocationSeq(): Promise<number> {
    return (await this.q('SELECT COALESCE(MAX(seq), 0) AS seq FROM revocations'))[0]!.seq as number;
  }

  async revocationsAfter(after: number): Promise<{ seq: number; deviceId: string }[]> {
    return (await this.q('SELECT seq, device_id FROM revocations WHERE seq > $1 ORDER BY seq LIMIT 1000', [after])).map((r) => ({
      seq: r.seq as number,
      deviceId: r.device_id as string,
    }));
  }

  useNonce(key: string, expiresAt: number, now: number): Promise<boolean> {
    return this.w.run((x) => this.nonceIn(x, key, expiresAt, now));
  }

  /** useNonce's work, inside a write the caller runs */
  async nonceIn(x: PoolClient, key: string, expiresAt: number, now: number): Promise<boolean> {
    // a few expired rows per call keep the table at the window's size; rows another
    // instance is deleting right now are left to it
    await x.query(
      `DELETE FROM fed_nonces WHERE key IN (SELECT key FROM fed_nonces WHERE expires_at < $1
      ORDER BY expires_at LIMIT 16 FOR UPDATE SKIP LOCKED)`,
      [now],
    );
    // the primary key decides: an instance inserting the same nonce at the same time waits
    // for this commit and then inserts nothing
    return (
      ((await x.query('INSERT INTO fed_nonces (key, expires_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, expiresAt]))
        .rowCount ?? 0) > 0
    );
  }
}

function insertDevice(x: PoolClient, d: DeviceRecord) {
  return x.query(
    `INSERT INTO devices (device_id, employee_id, display_name, device_public_key,
    mls_signature_key, certificate, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
    [d.deviceId, d.employeeId, d.displayName, d.devicePublicKey, d.mlsSignatureKey, JSON.stringify(d.certificate), d.createdAt],
  );
}
