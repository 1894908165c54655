/**
 * Gateway processes on PostgreSQL (--database / KONTOR_DATABASE_URL) with one org key file
 * (--org-key-file): serve, administer, restart, share the key, and report readiness.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startGateway, newDevice, b64, unb64, type GatewayHandle } from './helpers';
import { startPostgres, type PostgresHandle } from './services';
import type { InboxEntry } from '../../src/wire/protocol';

let db: PostgresHandle;
let gw: GatewayHandle;
let keyDir: string;
let env: Record<string, string>;
beforeAll(async () => {
  db = await startPostgres();
  keyDir = mkdtempSync(path.join(tmpdir(), 'kontor-key-'));
  env = { KONTOR_DATABASE_URL: db.url, KONTOR_ORG_KEY_FILE: path.join(keyDir, 'org-key.jwk.json') };
  gw = await startGateway({ domain: 'acme.example', env });
}, 60_000);
afterAll(async () => {
  await gw?.stop();
  await db?.destroy();
  rmSync(keyDir, { recursive: true, force: true });
});

async function waitFor(f: () => Promise<boolean>, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !(await f()); ) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('gateway on PostgreSQL', () => {
  it('enrolls, delivers live and from the inbox after a restart, with everything in PostgreSQL', async () => {
    const [alice, bob] = await Promise.all([newDevice(gw, 'alice', 'Alice'), newDevice(gw, 'bob', 'Bob')]);
    const pushed: InboxEntry[] = [];
    bob.client.onEvent((e) => {
      if (e.event === 'inbox') pushed.push(e.entry);
    });
    await alice.client.createConversation('c');
    await alice.client.send({
      conversationId: 'c',
      messageId: 'c0',
      kind: 'commit',
      epoch: 0,
      payload: b64('commit'),
      members: [alice.address, bob.address],
    });
    for (let i = 0; i < 20; i++)
      await alice.client.send({ conversationId: 'c', messageId: `m${i}`, kind: 'application', epoch: 1, payload: b64(`hello ${i}`) });
    for (const end = Date.now() + 10_000; pushed.length < 21 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    expect(pushed.map((e) => e.messageId)).toEqual(['c0', ...Array.from({ length: 20 }, (_, i) => `m${i}`)]);
    // nothing went to a SQLite file
    expect(existsSync(path.join(gw.dataDir, 'kontor.sqlite'))).toBe(false);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    expect(Number((await c.query('SELECT count(*) FROM log')).rows[0].count)).toBe(21);
    await c.end();
    // revoking through the admin CLI against the same database
    expect(
      JSON.parse(await gw.admin(['devices', 'list', '--json']))
        .map((d: { employeeId: string }) => d.employeeId)
        .sort(),
    ).toEqual(['alice', 'bob']);

    bob.client.close();
    await gw.restart();
    await bob.reconnect();
    const { entries } = await bob.client.fetchInbox(0, 100);
    expect(entries.map((e) => unb64(e.payload!))).toEqual(['commit', ...Array.from({ length: 20 }, (_, i) => `hello ${i}`)]);
    expect(await bob.client.call('inbox.ack', { ids: entries.map((e) => e.id) })).toEqual({ acked: 21 });
  });

  it('refuses a database URL that is not postgres://, and PostgreSQL without a shared org key file', async () => {
    await expect(startGateway({ domain: 'acme.example', extraArgs: ['--database', 'mysql://x'] })).rejects.toThrow(
      /--database must be a postgres/,
    );
    await expect(startGateway({ domain: 'acme.example', env: { KONTOR_DATABASE_URL: db.url } })).rejects.toThrow(/needs --org-key-file/);
  });

  it('a second instance with the same key file serves the same org: same key, same devices; the key never reaches the database', async () => {
    const second = await startGateway({ domain: 'acme.example', env });
    try {
      const manifest = async (g: GatewayHandle) =>
        (await (await fetch(g.url + '/.well-known/kontor.json')).json()) as { orgPublicKey: string };
      expect((await manifest(second)).orgPublicKey).toBe((await manifest(gw)).orgPublicKey);
      expect(await second.admin(['fingerprint'])).toBe(await gw.admin(['fingerprint']));
      // enrolled through the first instance, connected to the second
      const carol = await newDevice(gw, 'carol', 'Carol');
      const again = await carol.reconnect(second.url);
      expect((await again.fetchInbox(0, 10)).entries).toEqual([]);
      const secret = (JSON.parse(readFileSync(env.KONTOR_ORG_KEY_FILE!, 'utf8')) as { d: string }).d;
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      let all = '';
      for (const { table_name } of (await c.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)).rows) {
        all += JSON.stringify((await c.query(`SELECT * FROM ${table_name}`)).rows);
      }
      await c.end();
      expect(all).toContain('carol');
      expect(all).not.toContain(secret);
    } finally {
      await second.stop();
    }
  });

  it('refuses a key file other users can read', async () => {
    const file = path.join(keyDir, 'loose.jwk.json');
    writeFileSync(file, readFileSync(env.KONTOR_ORG_KEY_FILE!));
    chmodSync(file, 0o644);
    await expect(startGateway({ domain: 'acme.example', env: { ...env, KONTOR_ORG_KEY_FILE: file } })).rejects.toThrow(
      /readable by other users/,
    );
  });

  it('answers /healthz always, /readyz and requests with 503 while PostgreSQL is down, and recovers', async () => {
    const dave = await newDevice(gw, 'dave', 'Dave');
    expect((await fetch(gw.url + '/readyz')).status).toBe(200);
    await db.stop();
    try {
      await waitFor(async () => (await fetch(gw.url + '/readyz')).status === 503);
      expect(await (await fetch(gw.url + '/readyz')).json()).toEqual({ ok: false, database: false });
      expect((await fetch(gw.url + '/healthz')).status).toBe(200);
      await expect(dave.client.fetchInbox(0, 10)).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await db.start();
    }
    await waitFor(async () => (await fetch(gw.url + '/readyz')).status === 200);
    expect((await dave.client.fetchInbox(0, 10)).entries).toEqual([]);
    expect(gw.process.exitCode).toBeNull();
  });
});
