/** A gateway process on PostgreSQL (--database / KONTOR_DATABASE_URL): serves, administers, restarts. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startGateway, newDevice, b64, unb64, type GatewayHandle } from './helpers';
import { startPostgres, type PostgresHandle } from './services';
import type { InboxEntry } from '../../src/wire/protocol';

let db: PostgresHandle;
let gw: GatewayHandle;
beforeAll(async () => {
  db = await startPostgres();
  gw = await startGateway({ domain: 'acme.example', env: { KONTOR_DATABASE_URL: db.url } });
}, 60_000);
afterAll(async () => { await gw?.stop(); await db?.destroy(); });

describe('gateway on PostgreSQL', () => {
  it('enrolls, delivers live and from the inbox after a restart, with everything in PostgreSQL', async () => {
    const [alice, bob] = await Promise.all([newDevice(gw, 'alice', 'Alice'), newDevice(gw, 'bob', 'Bob')]);
    const pushed: InboxEntry[] = [];
    bob.client.onEvent((e) => { if (e.event === 'inbox') pushed.push(e.entry); });
    await alice.client.createConversation('c');
    await alice.client.send({ conversationId: 'c', messageId: 'c0', kind: 'commit', epoch: 0, payload: b64('commit'), members: [alice.address, bob.address] });
    for (let i = 0; i < 20; i++) await alice.client.send({ conversationId: 'c', messageId: `m${i}`, kind: 'application', epoch: 1, payload: b64(`hello ${i}`) });
    for (const end = Date.now() + 10_000; pushed.length < 21 && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    expect(pushed.map((e) => e.messageId)).toEqual(['c0', ...Array.from({ length: 20 }, (_, i) => `m${i}`)]);
    // nothing went to a SQLite file
    expect(existsSync(path.join(gw.dataDir, 'kontor.sqlite'))).toBe(false);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    expect(Number((await c.query('SELECT count(*) FROM log')).rows[0].count)).toBe(21);
    await c.end();
    // revoking through the admin CLI against the same database
    expect(JSON.parse(await gw.admin(['devices', 'list', '--json'])).map((d: { employeeId: string }) => d.employeeId).sort()).toEqual(['alice', 'bob']);

    bob.client.close();
    await gw.restart();
    await bob.reconnect();
    const { entries } = await bob.client.fetchInbox(0, 100);
    expect(entries.map((e) => unb64(e.payload!))).toEqual(['commit', ...Array.from({ length: 20 }, (_, i) => `hello ${i}`)]);
    expect((await bob.client.call('inbox.ack', { ids: entries.map((e) => e.id) }))).toEqual({ acked: 21 });
  });

  it('refuses a database URL that is not postgres://', async () => {
    await expect(startGateway({ domain: 'acme.example', extraArgs: ['--database', 'mysql://x'] })).rejects.toThrow(/--database must be a postgres/);
  });
});
