/**
 * acme.example as three instances behind HAProxy (PostgreSQL + NATS), globex.example as one
 * gateway beside it: devices on different instances converse with each other and with the
 * partner both ways; NATS and PostgreSQL outages lose nothing and recover.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, newDevice, b64, unb64, type GatewayHandle, type TestDevice } from './helpers';
import { startCluster, type ClusterHandle } from './cluster-helpers';
import type { InboxEntry } from '../../src/wire/protocol';

let acme: ClusterHandle;
let globex: GatewayHandle;
let alice: TestDevice, bob: TestDevice, carol: TestDevice, gina: TestDevice;
const inbox = new Map<TestDevice, InboxEntry[]>();

/** a device enrolled through the load balancer and connected to one instance (or the balancer) */
async function device(employee: string, url: string): Promise<TestDevice> {
  const d = await newDevice({ ...acme.instances[0]!, url: acme.url }, employee, employee);
  d.client.close();
  await d.reconnect(url);
  listen(d);
  return d;
}
function listen(d: TestDevice): void {
  const got = inbox.get(d) ?? [];
  inbox.set(d, got);
  d.client.onEvent((e) => {
    if (e.event === 'inbox') got.push(e.entry);
  });
}
async function waitFor<T>(f: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  for (const end = Date.now() + ms; ; ) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
const texts = (d: TestDevice, conv: string) =>
  inbox
    .get(d)!
    .filter((e) => e.conversationId === conv && e.kind === 'application')
    .map((e) => unb64(e.payload!));

beforeAll(async () => {
  globex = await startGateway({ domain: 'globex.example' });
  acme = await startCluster({ domain: 'acme.example', peers: { 'globex.example': globex.url }, extraArgs: ['--rate-device', '100000'] });
  globex.setPeers({ 'acme.example': acme.url });
  await acme.instances[0]!.admin(['partners', 'admit', 'globex.example']);
  await globex.admin(['partners', 'admit', 'acme.example']);
  [alice, bob, carol] = await Promise.all([
    device('alice', acme.instances[0]!.url),
    device('bob', acme.instances[1]!.url),
    device('carol', acme.url),
  ]);
  gina = await newDevice(globex, 'gina', 'Gina');
  listen(gina);
}, 120_000);
afterAll(async () => {
  for (const d of [alice, bob, carol, gina]) d?.client.close();
  await Promise.all([acme?.stop(), globex?.stop()]);
});

describe('three instances behind HAProxy', () => {
  it('devices on different instances converse with each other and with a partner, both ways', async () => {
    await alice.client.createConversation('c');
    await alice.client.send({
      conversationId: 'c',
      messageId: 'c0',
      kind: 'commit',
      epoch: 0,
      payload: b64('commit'),
      members: [alice.address, bob.address, carol.address, gina.address],
    });
    await alice.client.send({ conversationId: 'c', messageId: 'a1', kind: 'application', epoch: 1, payload: b64('from alice') });
    // alice is on instance 0, bob on 1: the push crossed NATS; gina got it through the federation
    for (const d of [bob, carol, gina]) await waitFor(() => texts(d, 'c').includes('from alice'));
    await bob.client.send({ conversationId: 'c', messageId: 'b1', kind: 'application', epoch: 1, payload: b64('from bob') });
    await gina.client.send({
      conversationId: 'c',
      hub: 'acme.example',
      messageId: 'g1',
      kind: 'application',
      epoch: 1,
      payload: b64('from gina'),
    });
    for (const d of [alice, carol]) await waitFor(() => texts(d, 'c').includes('from bob') && texts(d, 'c').includes('from gina'));
    await waitFor(() => texts(gina, 'c').includes('from bob'));

    // a conversation hosted by the partner: its deliveries enter through HAProxy at any instance
    await gina.client.createConversation('g');
    await gina.client.send({
      conversationId: 'g',
      messageId: 'gc0',
      kind: 'commit',
      epoch: 0,
      payload: b64('commit'),
      members: [gina.address, alice.address, bob.address],
    });
    await gina.client.send({ conversationId: 'g', messageId: 'g2', kind: 'application', epoch: 1, payload: b64('hello acme') });
    for (const d of [alice, bob]) await waitFor(() => texts(d, 'g').includes('hello acme'));
    await bob.client.send({
      conversationId: 'g',
      hub: 'globex.example',
      messageId: 'b2',
      kind: 'application',
      epoch: 1,
      payload: b64('hello globex'),
    });
    await waitFor(() => texts(gina, 'g').includes('hello globex') && texts(alice, 'g').includes('hello globex'));
    // exactly once each
    for (const d of [alice, bob, carol, gina]) {
      const ids = inbox
        .get(d)!
        .filter((e) => e.kind !== 'receipt')
        .map((e) => `${e.hub} ${e.conversationId} ${e.messageId}`);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('NATS stopped for 10 s: messages stored meanwhile reach a device on another instance once NATS is back', async () => {
    const before = texts(bob, 'c').length;
    await acme.nats.stop();
    try {
      for (let i = 0; i < 20; i++)
        await alice.client.send({
          conversationId: 'c',
          messageId: `n${i}`,
          kind: 'application',
          epoch: 1,
          payload: b64(`during outage ${i}`),
        });
      const r = await fetch(acme.instances[0]!.url + '/readyz');
      expect([r.status, await r.json()]).toEqual([503, { ok: false, database: true, nats: false }]);
      await new Promise((r) => setTimeout(r, 10_000));
    } finally {
      await acme.nats.start();
    }
    await waitFor(() => texts(bob, 'c').length >= before + 20, 30_000);
    expect(texts(bob, 'c').slice(before)).toEqual(Array.from({ length: 20 }, (_, i) => `during outage ${i}`));
    // and live push works again
    await alice.client.send({ conversationId: 'c', messageId: 'after-nats', kind: 'application', epoch: 1, payload: b64('after nats') });
    await waitFor(() => texts(bob, 'c').includes('after nats'));
    expect(texts(bob, 'c').filter((t) => t.startsWith('during outage')).length).toBe(20);
    await waitFor(async () => (await fetch(acme.url + '/readyz')).status === 200);
  });

  it('PostgreSQL stopped: 503s and /readyz failing on every instance; all recover when it returns', async () => {
    await acme.db.stop();
    try {
      for (const g of acme.instances) await waitFor(async () => (await fetch(g.url + '/readyz')).status === 503);
      for (const g of acme.instances) expect((await fetch(g.url + '/healthz')).status).toBe(200);
      await expect(
        alice.client.send({ conversationId: 'c', messageId: 'pg-down', kind: 'application', epoch: 1, payload: b64('x') }),
      ).rejects.toMatchObject({ code: 'unavailable' });
      // HAProxy has no ready instance left and says so itself
      await waitFor(async () => (await fetch(acme.url + '/healthz')).status === 503);
    } finally {
      await acme.db.start();
    }
    for (const g of acme.instances) await waitFor(async () => (await fetch(g.url + '/readyz')).status === 200);
    await alice.client.send({ conversationId: 'c', messageId: 'pg-back', kind: 'application', epoch: 1, payload: b64('after postgres') });
    await waitFor(() => texts(bob, 'c').includes('after postgres') && texts(gina, 'c').includes('after postgres'));
    for (const g of acme.instances) expect(g.process.exitCode).toBeNull();
  });
});
