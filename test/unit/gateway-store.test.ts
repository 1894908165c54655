import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/gateway/store/sqlite';
import { SCHEMA_V1, SCHEMA_VERSION } from '../../src/gateway/store/schema';
import { device } from './gateway-fixtures';
import { aggregateReceipts } from '../../src/gateway/delivery';

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

describe('SqliteStore hub log', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps log positions gapless when a neighbouring write in the same batch fails', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-store-'));
    const s = new SqliteStore(path.join(dir, 'db.sqlite'));
    await Promise.all([s.addDevice(device('alice')), s.addDevice(device('bob'))]);
    await s.createConversation('c', A, 1);
    expect(await s.submitToHub({ ...app('c0'), kind: 'commit', epoch: 0, members: [A, B] }, HUB, 2)).toMatchObject({ ok: true, seq: 1 });
    // one batch: a submission, a failing write (duplicate device), another submission
    const [m1, dup, m2] = await Promise.allSettled([
      s.submitToHub(app('m1'), HUB, 3),
      s.addDevice(device('bob')),
      s.submitToHub(app('m2'), HUB, 3),
    ]);
    expect(dup.status).toBe('rejected');
    expect(m1).toMatchObject({ status: 'fulfilled', value: { ok: true, seq: 2, duplicate: false } });
    expect(m2).toMatchObject({ status: 'fulfilled', value: { ok: true, seq: 3, duplicate: false } });
    expect(await s.submitToHub(app('m3'), HUB, 4)).toMatchObject({ ok: true, seq: 4 });
    expect(await s.submitToHub(app('m1'), HUB, 5)).toMatchObject({ ok: true, seq: 2, duplicate: true });
    expect((await s.fetchInbox('bob', 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    s.close();
  });

  it("takes a partner hub's deliveries only for its own conversations and only for devices it welcomed", async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-store-'));
    const s = new SqliteStore(path.join(dir, 'db.sqlite'));
    await Promise.all([s.addDevice(device('alice')), s.addDevice(device('bob')), s.addDevice(device('carol'))]);
    await s.createConversation('c', A, 1);
    const g = { hub: 'globex.example', epoch: 1, sender: 'gina@globex.example', payload: 'AAAA' };
    // into a conversation hosted here: nothing, whatever the kind
    for (const kind of ['welcome', 'commit', 'application'] as const) {
      expect(
        await s.storeDeliveries([{ ...g, conversationId: 'c', seq: 1, messageId: `x-${kind}`, kind, recipients: ['bob'] }], 2),
      ).toEqual([]);
    }
    // globex's own conversation: before a Welcome nobody, after it bob only (carol was never welcomed)
    expect(
      await s.storeDeliveries([{ ...g, conversationId: 'x', seq: 1, messageId: 'g1', kind: 'commit', recipients: ['bob', 'carol'] }], 3),
    ).toEqual([]);
    expect(
      await s.storeDeliveries([{ ...g, conversationId: 'x', seq: 2, messageId: 'g2', kind: 'welcome', recipients: ['bob'] }], 3),
    ).toHaveLength(1);
    const got = await s.storeDeliveries(
      [{ ...g, conversationId: 'x', seq: 3, messageId: 'g3', kind: 'application', recipients: ['bob', 'carol'] }],
      4,
    );
    expect(got.map((r) => r.deviceId)).toEqual(['bob']);
    // another hub using the same conversation id reaches nobody through bob's membership
    expect(
      await s.storeDeliveries(
        [{ ...g, hub: 'initech.example', conversationId: 'x', seq: 4, messageId: 'i4', kind: 'application', recipients: ['bob'] }],
        4,
      ),
    ).toEqual([]);
    expect(await s.fetchInbox('carol', 0, 10)).toEqual([]);
    s.close();
  });

  it('groups an acknowledgement into one receipt per sender and conversation, as aggregateReceipts does', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-store-'));
    const s = new SqliteStore(path.join(dir, 'db.sqlite'));
    await Promise.all(['alice', 'bob', 'carol'].map((d) => s.addDevice(device(d))));
    const C = `carol@${HUB}`;
    for (const conv of ['c', 'd']) {
      await s.createConversation(conv, A, 1);
      await s.submitToHub({ ...app('c0'), conversationId: conv, kind: 'commit', epoch: 0, members: [A, B, C] }, HUB, 2);
    }
    // interleaved: alice in c and d, carol in c, and a partner's delivery, all to bob
    await s.submitToHub(app('a1'), HUB, 3);
    await s.submitToHub({ ...app('a2'), conversationId: 'd' }, HUB, 3);
    await s.submitToHub({ ...app('k1'), sender: C }, HUB, 3);
    await s.submitToHub(app('a3'), HUB, 3);
    await s.addRemoteMember('x', 'globex.example', 'bob');
    await s.storeDeliveries(
      [
        {
          conversationId: 'x',
          hub: 'globex.example',
          seq: 9,
          messageId: 'g9',
          kind: 'application',
          epoch: 1,
          sender: 'gina@globex.example',
          payload: 'AAAA',
          recipients: ['bob'],
        },
      ],
      4,
    );
    await s.storeReceipts(
      [{ conversationId: 'c', hub: HUB, seq: 2, messageId: 'x', sender: B, status: 'delivered', by: C, messageIds: ['x'] }],
      4,
    );
    const entries = await s.fetchInbox('bob', 0, 100);
    expect(entries).toHaveLength(8);
    // the device acknowledges in no particular order
    const ids = entries.map((e) => e.id).reverse();
    const { acked, delivered } = await s.ackInbox('bob', [...ids, 999_999]);
    expect(acked).toBe(8);
    const expected = aggregateReceipts(
      entries.filter((e) => e.kind !== 'receipt'),
      'delivered',
      B,
    ).map(({ status: _, by: __, ...g }) => g);
    const key = (g: { sender: string; conversationId: string }) => `${g.sender} ${g.conversationId}`;
    expect([...delivered].sort((x, y) => key(x).localeCompare(key(y)))).toEqual([...expected].sort((x, y) => key(x).localeCompare(key(y))));
    expect(delivered.find((g) => g.sender === A && g.conversationId === 'c')).toEqual({
      conversationId: 'c',
      hub: HUB,
      sender: A,
      seq: 4,
      messageId: 'a3',
      messageIds: ['c0', 'a1', 'a3'],
    });
    expect(await s.fetchInbox('bob', 0, 100)).toEqual([]);
    // acknowledging again deletes nothing and owes nothing
    expect(await s.ackInbox('bob', ids)).toEqual({ acked: 0, delivered: [] });
    s.close();
  });
});

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
