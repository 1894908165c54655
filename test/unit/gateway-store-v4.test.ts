/** Schema version 4 (issue 14): revocation sequence, hashed enrollment codes, a slimmer message log. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/gateway/store/sqlite';
import { MIGRATE_V2, SCHEMA_V1, hashEnrollCode, migrateV3 } from '../../src/gateway/store/schema';
import { device } from './gateway-fixtures';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A version 3 file with a code in clear, a revoked device and a log row with kind and epoch. */
function version3(file: string): void {
  const db = new Database(file);
  db.exec(SCHEMA_V1);
  db.exec(MIGRATE_V2);
  migrateV3(db);
  db.pragma('user_version = 3');
  db.prepare(`INSERT INTO enroll_codes VALUES ('ABCD-EFGH-JKMN-PQRS', 'alice', 'Alice', ?, NULL)`).run(Date.now() + 3_600_000);
  db.prepare(`INSERT INTO devices VALUES ('gone', 'bob', 'Bob', 'k1', 'm1', '{}', 1, 5)`).run();
  db.prepare(`INSERT INTO conversations VALUES ('c', 0, '["a@acme.example"]', 'a@acme.example', 1)`).run();
  db.prepare(`INSERT INTO log VALUES ('c', 1, 'm1', 'a@acme.example', 'application', 0, 1)`).run();
  db.close();
}

describe('schema version 4', () => {
  it('hashes stored codes, numbers past revocations and drops the log columns nothing reads', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-v4-'));
    const file = path.join(dir, 'db.sqlite');
    version3(file);
    const s = new SqliteStore(file);
    const now = Date.now();
    expect(s.db.prepare('SELECT code FROM enroll_codes').pluck().all()).toEqual([hashEnrollCode('ABCD-EFGH-JKMN-PQRS')]);
    expect(await s.getEnrollCode(hashEnrollCode('ABCD-EFGH-JKMN-PQRS'), now)).toMatchObject({ employeeId: 'alice' });
    expect(await s.revocationSeq()).toBe(1);
    expect(await s.revocationsAfter(0)).toEqual([{ seq: 1, deviceId: 'gone' }]);
    expect((s.db.prepare('PRAGMA table_info(log)').all() as { name: string }[]).map((c) => c.name)).toEqual([
      'conv_id',
      'seq',
      'message_id',
      'sender',
      'created_at',
    ]);
    // a new revocation gets the next number, whatever time it carries
    await s.addDevice(device('alice'));
    expect(await s.revokeDevice('alice', 0)).toBe(true);
    expect(await s.revocationsAfter(1)).toEqual([{ seq: 2, deviceId: 'alice' }]);
    s.close();
  });

  it('enrolls atomically: a taken key or a used code changes nothing', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-v4-'));
    const s = new SqliteStore(path.join(dir, 'db.sqlite'));
    const now = Date.now();
    const code = { employeeId: 'alice', displayName: 'Alice', expiresAt: now + 60_000 };
    await s.createEnrollCode({ code: 'h1', ...code });
    await s.createEnrollCode({ code: 'h2', ...code });
    const dev = (id: string, k: string, m: string) => ({
      ...device(id),
      employeeId: 'alice',
      displayName: 'Alice',
      devicePublicKey: k,
      mlsSignatureKey: m,
    });
    expect(await s.enrollDevice('h1', dev('d1', 'k1', 'm1'), now)).toBe('ok');
    expect(await s.enrollDevice('h1', dev('d2', 'k2', 'm2'), now)).toBe('invalid_code');
    expect(await s.enrollDevice('h2', dev('d3', 'k1', 'm3'), now)).toBe('key_enrolled');
    expect(await s.enrollDevice('h2', dev('d3', 'k3', 'm1'), now)).toBe('key_enrolled');
    // a code only enrolls the employee it was issued for
    expect(await s.enrollDevice('h2', { ...dev('d3', 'k3', 'm3'), employeeId: 'mallory' }, now)).toBe('invalid_code');
    expect(await s.getEnrollCode('h2', now)).not.toBeNull();
    expect(await s.enrollDevice('h2', dev('d3', 'k3', 'm3'), now)).toBe('ok');
    expect((await s.listDevices()).map((d) => d.deviceId)).toEqual(['d1', 'd3']);
    s.close();
  });
});
