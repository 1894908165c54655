/**
 * What only the PostgreSQL store must hold: several instances (stores) writing one database at
 * the same time, migrations racing at start-up, and durability set on every connection.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { PgStore } from '../../src/gateway/store/pg';
import { PG_SCHEMA_V1, PG_SCHEMA_VERSION } from '../../src/gateway/store/pg-schema';
import { hashEnrollCode } from '../../src/gateway/store/schema';
import { PgOutboxLocks } from '../../src/gateway/store/pg-locks';
import { PgRateLimits } from '../../src/gateway/store/pg-limits';
import { device } from '../unit/gateway-fixtures';
import type { HubSubmission } from '../../src/gateway/store/types';
import { startPostgres, type PostgresHandle } from './services';

const HUB = 'acme.example';
const A = `alice@${HUB}`,
  B = `bob@${HUB}`,
  C = `carol@${HUB}`;

let server: PostgresHandle;
const realQuery = pg.Client.prototype.query;
let n = 0;
async function freshDb(): Promise<string> {
  const name = `pgstore_${++n}`;
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return server.url.replace(/\/postgres$/, `/${name}`);
}

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => server?.destroy());

describe('PgStore with several instances', () => {
  it('instances starting together migrate once; a newer schema is refused', async () => {
    const url = await freshDb();
    const stores = await Promise.all([PgStore.open(url), PgStore.open(url), PgStore.open(url)]);
    const r = await stores[0]!.pool.query('SELECT version FROM kontor_schema');
    expect(r.rows).toEqual([{ version: PG_SCHEMA_VERSION }]);
    await stores[0]!.pool.query('UPDATE kontor_schema SET version = version + 1');
    await expect(PgStore.open(url)).rejects.toThrow(/newer than this gateway/);
    for (const s of stores) s.close();
  });

  it('commits synchronously on every connection, even where the database default is off', async () => {
    const url = await freshDb();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`ALTER DATABASE ${url.split('/').pop()} SET synchronous_commit = off`);
    await c.end();
    const s = await PgStore.open(url);
    const got = await Promise.all([1, 2, 3].map(() => s.pool.query('SHOW synchronous_commit')));
    expect(got.map((g) => g.rows[0].synchronous_commit)).toEqual(['on', 'on', 'on']);
    s.close();
  });

  it('three instances writing one conversation at once give gapless positions, and every inbox in log order', async () => {
    const url = await freshDb();
    const stores = await Promise.all([PgStore.open(url), PgStore.open(url), PgStore.open(url)]);
    const [s0] = stores as [PgStore, PgStore, PgStore];
    await Promise.all(['alice', 'bob', 'carol'].map((d) => s0.addDevice(device(d))));
    await s0.createConversation('c', A, 1);
    await s0.submitToHub(
      { conversationId: 'c', messageId: 'c0', sender: A, kind: 'commit', epoch: 0, payload: 'AAAA', members: [A, B, C] },
      HUB,
      2,
    );
    // bob is in globex's conversation x (its Welcome came before)
    await s0.addRemoteMember('x', 'globex.example', 'bob');
    // 3 instances x 100 messages, all in flight together, plus partner deliveries to bob in between
    const sends = stores.flatMap((s, i) =>
      Array.from({ length: 100 }, (_, k) =>
        s.submitToHub(
          { conversationId: 'c', messageId: `m${i}-${k}`, sender: k % 2 ? A : C, kind: 'application', epoch: 1, payload: 'AAAA' },
          HUB,
          3,
        ),
      ),
    );
    const partner = stores.map((s, i) =>
      s.storeDeliveries(
        [
          {
            conversationId: 'x',
            hub: 'globex.example',
            seq: i + 1,
            messageId: `g${i}`,
            kind: 'application',
            epoch: 1,
            sender: 'gina@globex.example',
            payload: 'AAAA',
            recipients: ['bob'],
          },
        ],
        3,
      ),
    );
    const results = await Promise.all(sends);
    await Promise.all(partner);
    const seqs = results.map((r) => (r.ok ? r.seq : -1)).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 2));
    for (const dev of ['bob', 'alice', 'carol']) {
      const inbox = await stores[2]!.fetchInbox(dev, 0, 1000);
      const ids = inbox.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      // ids increase with the log position: a device paging by id never sees a later message before an earlier one
      const conv = inbox.filter((e) => e.conversationId === 'c').map((e) => e.seq);
      expect(conv).toEqual([...conv].sort((a, b) => a - b));
    }
    expect((await s0.fetchInbox('bob', 0, 1000)).length).toBe(301 + 3);
    for (const s of stores) s.close();
  });

  it('three instances writing two conversations at once, in batches that hold both: gapless positions in each', async () => {
    const url = await freshDb();
    const stores = await Promise.all([PgStore.open(url), PgStore.open(url), PgStore.open(url)]);
    const [s0] = stores as [PgStore, PgStore, PgStore];
    await Promise.all(['alice', 'bob'].map((d) => s0.addDevice(device(d))));
    // two conversations on one lane of every instance, so each batch moves both (lane: FNV-1a of the id, 4 lanes)
    const [c, d] = ['c', 'g'];
    for (const id of [c, d]) {
      await s0.createConversation(id, A, 1);
      await s0.submitToHub(
        { conversationId: id, messageId: 'c0', sender: A, kind: 'commit', epoch: 0, payload: 'AAAA', members: [A, B] },
        HUB,
        2,
      );
    }
    const answers = await Promise.all(
      stores.flatMap((s, i) =>
        Array.from({ length: 80 }, (_, k) =>
          s.submitToHub(
            { conversationId: k % 2 ? c : d, messageId: `m${i}-${k}`, sender: A, kind: 'application', epoch: 1, payload: 'AAAA' },
            HUB,
            3,
          ),
        ),
      ),
    );
    expect(answers.every((r) => r.ok)).toBe(true);
    const inbox = (await s0.fetchInbox('bob', 0, 1000)).filter((e) => e.kind === 'application');
    for (const id of [c, d]) {
      const seqs = inbox.filter((e) => e.conversationId === id).map((e) => e.seq);
      // 120 messages each after the commit at position 1: 2..121, none missing, none twice, in inbox order
      expect(seqs).toEqual(Array.from({ length: 120 }, (_, i) => i + 2));
    }
    for (const s of stores) s.close();
  });

  it('one message id sent through three instances at once is logged once; every answer names its one position', async () => {
    const url = await freshDb();
    const stores = await Promise.all([PgStore.open(url), PgStore.open(url), PgStore.open(url)]);
    const [s0] = stores as [PgStore, PgStore, PgStore];
    await Promise.all(['alice', 'bob'].map((d) => s0.addDevice(device(d))));
    await s0.createConversation('c', A, 1);
    await s0.submitToHub(
      { conversationId: 'c', messageId: 'c0', sender: A, kind: 'commit', epoch: 0, payload: 'AAAA', members: [A, B] },
      HUB,
      2,
    );
    // a client retrying through the load balancer: each id reaches every instance while the others hold the lock
    const ids = Array.from({ length: 60 }, (_, k) => `r${k}`);
    const answers = await Promise.all(
      ids.flatMap((id) =>
        stores.map((s) =>
          s.submitToHub({ conversationId: 'c', messageId: id, sender: A, kind: 'application', epoch: 1, payload: 'AAAA' }, HUB, 3),
        ),
      ),
    );
    expect(answers.every((r) => r.ok)).toBe(true);
    for (const [k, id] of ids.entries()) {
      const mine = answers.slice(k * 3, k * 3 + 3) as Extract<(typeof answers)[number], { ok: true }>[];
      expect(new Set(mine.map((r) => r.seq)).size, id).toBe(1);
      expect(mine.filter((r) => !r.duplicate).length, id).toBe(1);
    }
    const inbox = (await s0.fetchInbox('bob', 0, 1000)).filter((e) => e.kind === 'application');
    expect(inbox.map((e) => e.messageId).sort()).toEqual([...ids].sort());
    for (const s of stores) s.close();
  });

  it("a batch that skips the read, knowing its conversation from the instance's own last write, is still decided on what the database holds", async () => {
    const url = await freshDb();
    const [s0, s1] = (await Promise.all([PgStore.open(url), PgStore.open(url)])) as [PgStore, PgStore];
    await Promise.all(['alice', 'bob', 'carol'].map((d) => s0.addDevice(device(d))));
    const send = (s: PgStore, conversationId: string, messageId: string, o: Partial<HubSubmission> = {}) =>
      s.submitToHub({ conversationId, messageId, sender: A, kind: 'application', epoch: 1, payload: 'AAAA', ...o }, HUB, 3);
    for (const c of ['c', 'd', 'e']) {
      await s0.createConversation(c, A, 1);
      // s0 writes each conversation: from now on it knows them (epoch 1)
      expect(await send(s0, c, 'c0', { kind: 'commit', epoch: 0, members: [A, B, C] })).toMatchObject({ ok: true, seq: 1 });
      expect(await send(s0, c, 'm1')).toMatchObject({ ok: true, seq: 2 });
    }
    // another instance moves c and d to epoch 2
    for (const c of ['c', 'd']) expect(await send(s1, c, 'c1', { kind: 'commit', members: [A, B, C] })).toMatchObject({ ok: true, seq: 3 });
    // what s0 knows would take this commit for epoch 1: the database refuses it
    expect(await send(s0, 'c', 'late', { kind: 'commit', members: [A, B] })).toMatchObject({
      ok: false,
      code: 'epoch_conflict',
      currentEpoch: 2,
    });
    // what s0 knows would refuse a message of epoch 2 as ahead: the database takes it
    expect(await send(s0, 'd', 'm2', { epoch: 2 })).toMatchObject({ ok: true, seq: 4, duplicate: false });
    // a retry of a message s0 logged itself is answered with its position; the same id from someone else is a conflict
    expect(await send(s0, 'e', 'm1')).toMatchObject({ ok: true, seq: 2, duplicate: true });
    expect(await send(s0, 'e', 'm1', { sender: C })).toMatchObject({ ok: false, code: 'conflict' });
    // (both went the slow way, one at a time: s0 knows e again after its next write)
    expect(await send(s0, 'e', 'm2')).toMatchObject({ ok: true, seq: 3 });
    // bob revoked through another instance: s0's next message to e reaches carol only
    await s1.revokeDevice('bob', 4);
    const r = await send(s0, 'e', 'm3');
    expect(r).toMatchObject({ ok: true, seq: 4 });
    expect(r.ok && r.local.map((l) => l.deviceId)).toEqual(['carol']);
    const bobs = (await s0.fetchInbox('bob', 0, 100)).filter((e) => e.conversationId === 'e').map((e) => e.messageId);
    expect(bobs).toEqual(['c0', 'm1', 'm2']);
    // and a batch of a conversation s0 knows costs one statement, the write: no read
    const statements: string[] = [];
    const query = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      // text, or a statement config ({ name, text }: a named statement)
      const q = args[0] as string | { text?: string };
      statements.push(typeof q === 'string' ? q : (q?.text ?? ''));
      return Reflect.apply(realQuery, this, args) as never;
    });
    expect(await send(s0, 'e', 'm4')).toMatchObject({ ok: true, seq: 5 });
    query.mockRestore();
    expect(statements.filter((q) => q.includes('INSERT INTO log')).length).toBe(1);
    expect(statements.filter((q) => q.includes('AS prior')).length).toBe(0);
    s0.close();
    s1.close();
  });

  it('an inbox id drawn by an open transaction is never overtaken by a later commit', async () => {
    const url = await freshDb();
    const s = await PgStore.open(url);
    await s.addDevice(device('bob'));
    await s.addRemoteMember('x', 'globex.example', 'bob');
    const d = (seq: number) => ({
      conversationId: 'x',
      hub: 'globex.example',
      seq,
      messageId: `g${seq}`,
      kind: 'application' as const,
      epoch: 1,
      sender: 'gina@globex.example',
      payload: 'AAAA',
      recipients: ['bob'],
    });
    await s.storeDeliveries([d(1)], 1);
    // another instance's transaction takes bob's next id and stays open
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    await other.query('BEGIN');
    await other.query(`UPDATE inbox_heads SET last_id = last_id + 1 WHERE device_id = 'bob'`);
    const later = s.storeDeliveries([d(2)], 2);
    await new Promise((r) => setTimeout(r, 300));
    // bob pages now: only the first entry, nothing he could skip over later
    expect((await s.fetchInbox('bob', 0, 10)).map((e) => e.seq)).toEqual([1]);
    await other.query('COMMIT');
    await other.end();
    expect(await later).toHaveLength(1);
    const all = await s.fetchInbox('bob', 0, 10);
    expect(all.map((e) => [e.id, e.seq])).toEqual([
      [1, 1],
      [3, 2],
    ]);
    s.close();
  });

  it("one instance at a time holds a partner's outbox; a dead holder's lock passes on at once", async () => {
    const url = await freshDb();
    const [a, b] = [new PgOutboxLocks(url), new PgOutboxLocks(url)];
    expect(await a.acquire('globex.example')).toBe(true);
    expect(await a.acquire('globex.example')).toBe(true);
    expect(await b.acquire('globex.example')).toBe(false);
    expect(await b.acquire('initech.example')).toBe(true);
    await a.release('globex.example');
    expect(await b.acquire('globex.example')).toBe(true);
    expect(await a.acquire('globex.example')).toBe(false);
    // the holder's connection dies (as with SIGKILL): PostgreSQL frees its locks
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()`);
    await admin.end();
    for (const end = Date.now() + 5000; b.holds('globex.example') && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    expect(b.holds('globex.example')).toBe(false);
    expect(await a.acquire('globex.example')).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it('a revocation whose transaction commits late is still found by a poll that saw a later one', async () => {
    const url = await freshDb();
    const [a, b] = await Promise.all([PgStore.open(url), PgStore.open(url)]);
    await Promise.all(['alice', 'bob', 'carol'].map((d) => a.addDevice(device(d))));
    await a.createConversation('c', A, 1);
    await a.submitToHub(
      { conversationId: 'c', messageId: 'c0', sender: A, kind: 'commit', epoch: 0, payload: 'AAAA', members: [A, B] },
      HUB,
      1,
    );
    // instance a's next batch revokes bob, then waits on a conversation another transaction holds
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM conversations WHERE id = 'c' FOR UPDATE`);
    const slow = Promise.all([
      a.revokeDevice('bob', 2),
      a.submitToHub({ conversationId: 'c', messageId: 'm1', sender: A, kind: 'application', epoch: 1, payload: 'AAAA' }, HUB, 2),
    ]);
    await new Promise((r) => setTimeout(r, 300));
    // meanwhile instance b revokes carol, and a revocation poll runs
    const quick = b.revokeDevice('carol', 3);
    await new Promise((r) => setTimeout(r, 300));
    let cursor = 0;
    const seen: string[] = [];
    const poll = async () => {
      for (const r of await b.revocationsAfter(cursor)) {
        cursor = Math.max(cursor, r.seq);
        seen.push(r.deviceId);
      }
    };
    await poll();
    await holder.query('COMMIT');
    await holder.end();
    await Promise.all([slow, quick]);
    await poll();
    expect(seen.sort()).toEqual(['bob', 'carol']);
    a.close();
    b.close();
  });

  it('moves a version 1 database to the current schema: codes hashed, revocations numbered, partner members kept', async () => {
    const url = await freshDb();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('CREATE TABLE kontor_schema (version INTEGER NOT NULL); INSERT INTO kontor_schema VALUES (1);');
    await c.query(PG_SCHEMA_V1);
    await c.query(`INSERT INTO enroll_codes VALUES ('ABCD-EFGH-JKMN-PQRS', 'alice', 'Alice', 9999999999999, NULL)`);
    await c.query(
      `INSERT INTO devices VALUES ('bob', 'bob', 'Bob', 'kb', 'mb', '{}', 1, NULL), ('old', 'old', 'Old', 'ko', 'mo', '{}', 1, 7)`,
    );
    await c.query(`INSERT INTO log VALUES ('c', 1, 'c0', 'alice@acme.example', 'commit', 0, 1)`);
    await c.query(`INSERT INTO inbox (device_id, id, kind, conv_id, hub, seq, message_id, epoch, sender, payload, created_at, dedupe)
      VALUES ('bob', 1, 'application', 'x', 'globex.example', 7, 'g7', 1, 'gina@globex.example', 'AAAA', 1, 'm/globex.example/x/7/bob')`);
    await c.end();
    const s = await PgStore.open(url);
    expect((await s.pool.query('SELECT version FROM kontor_schema')).rows).toEqual([{ version: PG_SCHEMA_VERSION }]);
    expect(await s.getEnrollCode(hashEnrollCode('ABCD-EFGH-JKMN-PQRS'), 1)).toMatchObject({ employeeId: 'alice' });
    expect((await s.pool.query('SELECT count(*)::int AS n FROM enroll_codes WHERE code = $1', ['ABCD-EFGH-JKMN-PQRS'])).rows[0].n).toBe(0);
    expect(await s.revocationsAfter(0)).toEqual([{ seq: 1, deviceId: 'old' }]);
    expect(await s.isRemoteMember('x', 'globex.example', 'bob')).toBe(true);
    const cols = (
      await s.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'log' ORDER BY ordinal_position`)
    ).rows.map((r) => r.column_name);
    expect(cols).toEqual(['conv_id', 'seq', 'message_id', 'sender', 'created_at']);
    s.close();
  });

  it('a take whose instance read its clock before the last charge still gets the token the burst holds', async () => {
    const url = await freshDb();
    const s = await PgStore.open(url);
    // two instances racing: the later clock reading reaches the row first
    let t = 1_000_000;
    const late = new PgRateLimits(s.pool, () => t + 5).limiter('peer', 1, 2);
    const early = new PgRateLimits(s.pool, () => t).limiter('peer', 1, 2);
    expect(await late.take('k')).toBe(true);
    expect(await early.take('k')).toBe(true);
    expect(await early.take('k')).toBe(false);
    // the bucket's time never went back: it refills from the later reading, not the earlier
    t += 1000;
    expect(await early.take('k')).toBe(false);
    expect(await late.take('k')).toBe(true);
    s.close();
  });

  it('a rate limit in PostgreSQL holds across instances: racing takes never pass more than the burst', async () => {
    const url = await freshDb();
    const [a, b] = await Promise.all([PgStore.open(url), PgStore.open(url)]);
    const la = new PgRateLimits(a.pool).limiter('enroll', 10 / 600, 10);
    const lb = new PgRateLimits(b.pool).limiter('enroll', 10 / 600, 10);
    const got = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? la : lb).take('addr 10.0.0.1')));
    expect(got.filter(Boolean).length).toBe(10);
    // another key, and the same key under another limiter, have buckets of their own
    expect(await la.take('addr 10.0.0.2')).toBe(true);
    expect(await new PgRateLimits(a.pool).limiter('claims', 1, 1).take('addr 10.0.0.1')).toBe(true);
    // a refund on one instance is a token for the next take on any
    await lb.refund('addr 10.0.0.1');
    expect(await la.take('addr 10.0.0.1')).toBe(true);
    expect(await lb.take('addr 10.0.0.1')).toBe(false);
    // a bucket refills at its rate
    const fast = new PgRateLimits(b.pool).limiter('peer', 2, 2);
    expect([await fast.take('p'), await fast.take('p'), await fast.take('p')]).toEqual([true, true, false]);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await fast.take('p')).toBe(true);
    a.close();
    b.close();
  });
});
