import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/gateway/store/sqlite';
import { SCHEMA_V1, SCHEMA_VERSION } from '../../src/gateway/store/schema';

const HUB = 'acme.example';
const A = `alice@${HUB}`,
  B = `bob@${HUB}`;
const app = (messageId: string, payload = 'AAAA') => ({
  conversationId: 'c',
  messageId,
  sender: A,
  kind: 'application' as const,
  epoch: 1,
  payload,
});

// the behaviour every store shares is in test/gateway/store-contract.test.ts (SQLite and PostgreSQL)
describe('SqliteStore schema migration', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A database exactly as schema version 1 wrote it, with acknowledged (deleted) rows above the rest. */
  function version1(file: string): void {
    const db = new Database(file);
    db.exec(SCHEMA_V1);
    db.pragma('user_version = 1');
    const dev = (id: string) => db.prepare(`INSERT INTO devices VALUES (?, ?, ?, 'k', 'k', '{}', 1, NULL)`).run(id, id, id);
    dev('alice');
    dev('bob');
    db.prepare(`INSERT INTO conversations VALUES ('c', 1, ?, 3, ?, 1)`).run(JSON.stringify([A, B]), A);
    const log = db.prepare(`INSERT INTO log VALUES ('c', ?, ?, ?, ?, ?, 1)`);
    log.run(1, 'c0', A, 'commit', 0);
    log.run(2, 'm1', A, 'application', 1);
    const inbox = db.prepare(`INSERT INTO inbox (device_id, kind, conv_id, hub, seq, message_id, epoch, sender, payload, created_at, dedupe)
      VALUES ('bob', ?, ?, ?, ?, ?, 1, ?, 'AAAA', 1, ?)`);
    inbox.run('commit', 'c', HUB, 1, 'c0', A, `m/${HUB}/c/1/bob`);
    inbox.run('application', 'c', HUB, 2, 'm1', A, `m/${HUB}/c/2/bob`);
    inbox.run('application', 'x', 'globex.example', 7, 'g7', `gina@globex.example`, `m/globex.example/x/7/bob`);
    inbox.run('application', 'x', 'globex.example', 8, 'g8', `gina@globex.example`, `m/globex.example/x/8/bob`);
    // the device acknowledged the newest entry: its id (4) must never be handed out again
    db.prepare('DELETE FROM inbox WHERE id = 4').run();
    db.close();
  }

  it('moves a version 1 file to the current schema without losing rows, ids or positions', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-store-'));
    const file = path.join(dir, 'db.sqlite');
    version1(file);
    const s = new SqliteStore(file);
    expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((await s.fetchInbox('bob', 0, 10)).map((e) => [e.id, e.messageId])).toEqual([
      [1, 'c0'],
      [2, 'm1'],
      [3, 'g7'],
    ]);
    // the conversation continues after the log's last position, and retries are still recognised
    expect(await s.submitToHub(app('m2'), HUB, 5)).toMatchObject({ ok: true, seq: 3, duplicate: false });
    expect(await s.submitToHub(app('m1'), HUB, 5)).toMatchObject({ ok: true, seq: 2, duplicate: true });
    const ids = (await s.fetchInbox('bob', 3, 10)).map((e) => e.id);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toBeGreaterThan(4);
    // bob's waiting entries made him a member of globex's conversation x (schema 4), not of c as globex's
    expect([await s.isRemoteMember('x', 'globex.example', 'bob'), await s.isRemoteMember('c', HUB, 'bob')]).toEqual([true, false]);
    // a partner gateway repeating a delivery stored before the migration is still refused
    const again = {
      conversationId: 'x',
      hub: 'globex.example',
      seq: 7,
      messageId: 'g7',
      kind: 'application' as const,
      epoch: 1,
      sender: 'gina@globex.example',
      payload: 'AAAA',
      recipients: ['bob'],
    };
    expect(await s.storeDeliveries([again], 6)).toEqual([]);
    expect(await s.storeDeliveries([{ ...again, seq: 9, messageId: 'g9' }], 6)).toHaveLength(1);
    expect(await s.storeDeliveries([{ ...again, seq: 9, messageId: 'g9' }], 6)).toEqual([]);
    s.close();
    // opening it again changes nothing
    const t = new SqliteStore(file);
    expect((await t.fetchInbox('bob', 0, 10)).length).toBe(5);
    t.close();
  });

  it('stores ciphertexts as bytes and converts the base64 text rows of older files', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-store-'));
    const file = path.join(dir, 'db.sqlite');
    version1(file);
    const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 255)).toString('base64');
    const old = new Database(file);
    old.prepare('UPDATE inbox SET payload = ? WHERE id = 2').run(payload);
    old.close();
    const s = new SqliteStore(file);
    const typeOf = () =>
      (s.db.prepare('SELECT id, typeof(payload) AS t FROM inbox ORDER BY id').all() as { id: number; t: string }[]).map((r) => r.t);
    expect(typeOf()).toEqual(['blob', 'blob', 'blob']);
    const entries = await s.fetchInbox('bob', 0, 10);
    expect(entries.map((e) => e.payload)).toEqual(['AAAA', payload, 'AAAA']);
    // new rows: 300 bytes on disk, the same base64 when read
    await s.submitToHub(app('m3', payload), HUB, 5);
    const stored = s.db.prepare('SELECT length(payload) AS n FROM inbox ORDER BY id DESC LIMIT 1').get() as { n: number };
    expect(stored.n).toBe(300);
    expect((await s.fetchInbox('bob', 3, 10)).map((e) => e.payload)).toEqual([payload]);
    s.close();
  });

  it('refuses a file written by a newer gateway', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-store-'));
    const file = path.join(dir, 'db.sqlite');
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new SqliteStore(file)).toThrow(/newer than this gateway/);
  });
});

describe('SqliteStore federation nonces', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a nonce until it expires, also from a new connection to the same file', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-store-'));
    const file = path.join(dir, 'db.sqlite');
    const s = new SqliteStore(file);
    expect(await s.useNonce('peer.example/n1', 1_000, 0)).toBe(true);
    expect(await s.useNonce('peer.example/n1', 1_000, 10)).toBe(false);
    s.close();
    const again = new SqliteStore(file);
    expect(await again.useNonce('peer.example/n1', 1_000, 20)).toBe(false);
    // past its expiry the row is pruned on the way, and the table does not keep growing
    expect(await again.useNonce('peer.example/n2', 5_000, 2_000)).toBe(true);
    expect(again.db.prepare('SELECT key FROM fed_nonces').all()).toEqual([{ key: 'peer.example/n2' }]);
    again.close();
  });
});
