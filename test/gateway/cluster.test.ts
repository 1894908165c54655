/**
 * acme.example as three instances behind HAProxy (PostgreSQL + NATS), globex.example as one
 * gateway beside it: devices on different instances converse with each other and with the
 * partner both ways; replay protection and revocation hold across instances; NATS and
 * PostgreSQL outages lose nothing and recover.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, newDevice, b64, unb64, type GatewayHandle, type TestDevice } from './helpers';
import { startCluster, type ClusterHandle } from './cluster-helpers';
import { authChallenge, type InboxEntry } from '../../src/wire/protocol';
import { sign } from '../../src/wire/ed25519';
import { RawWs } from './raw-ws';
import { buildSigned, post } from './fake-peer';

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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Every instance answers /readyz with 200; an instance that is gone fails with its exit and last log lines. */
async function allReady(): Promise<void> {
  for (const g of acme.instances) {
    const { exitCode, signalCode } = g.process;
    if (exitCode !== null || signalCode !== null)
      throw new Error(`instance ${g.url} exited (${exitCode ?? signalCode}):\n${g.logs.slice(-20).join('\n')}`);
    await waitFor(async () => (await fetch(g.url + '/readyz').catch(() => null))?.status === 200);
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
    // gina's gateway takes the hub's messages only for devices the hub welcomed (issue 14, item 8)
    await alice.client.send({
      conversationId: 'c',
      messageId: 'cw',
      kind: 'welcome',
      epoch: 1,
      payload: b64('welcome'),
      recipients: [bob.address, carol.address, gina.address],
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
    await gina.client.send({
      conversationId: 'g',
      messageId: 'gw',
      kind: 'welcome',
      epoch: 1,
      payload: b64('welcome'),
      recipients: [alice.address, bob.address],
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

  it('a federation request captured on its way to one instance is refused as a replay by the others', async () => {
    await acme.instances[0]!.admin(['contacts', 'add', 'sales', '--name', 'Sales', '--member', 'bob']);
    await bob.client.uploadKeyPackages([b64('bob-kp-1'), b64('bob-kp-2')], b64('bob-lr'));
    // signed with globex's org key, as globex's gateway would; the nonce is stored in PostgreSQL
    const captured = await buildSigned(globex, 'acme.example', '/v1/fed/claim', { contact: 'sales' });
    const first = await post(acme.instances[0]!.url + '/v1/fed/claim', captured);
    expect(first.status).toBe(200);
    for (const g of acme.instances.slice(1)) {
      const again = await post(g.url + '/v1/fed/claim', captured);
      expect([again.status, again.body?.error?.message]).toEqual([401, 'replayed request']);
    }
    // one one-time package went, once
    expect((await bob.client.call('keyPackages.count')).available).toBe(1);
  });

  it('a device revoked with the admin CLI is cut off within 1 s, on whichever instance holds its socket', async () => {
    // dave on instance 2 never answers a close frame; erin on instance 1 is a polite client
    const dave = await newDevice({ ...acme.instances[0]!, url: acme.url }, 'dave', 'Dave');
    dave.client.close();
    const ws = await RawWs.connect(acme.instances[2]!.url.replace('http', 'ws') + '/v1/ws');
    const challenge = JSON.parse(await ws.text(0));
    const signature = await sign(dave.deviceKey.privateKey, authChallenge(acme.domain, challenge.nonce, dave.certificate.deviceId));
    ws.sendText(JSON.stringify({ type: 'auth', certificate: dave.certificate, signature }));
    expect(JSON.parse(await ws.text(1))).toMatchObject({ type: 'ready' });
    const erin = await device('erin', acme.instances[1]!.url);
    const erinClosed = new Promise<number>((r) => erin.client.onClose(() => r(Date.now())));
    // the CLI returns after its commit, so each time is measured from at most the revocation on
    const revoke = (id: string) => acme.instances[0]!.admin(['devices', 'revoke', id]).then(() => Date.now());
    const [daveRevoked, erinRevoked] = await Promise.all([revoke(dave.certificate.deviceId), revoke(erin.certificate.deviceId)]);
    // dave keeps sending; nothing may be served to him a second after his revocation
    const sentAt = new Map<number, number>();
    for (let i = 0; i < 10; i++) {
      sentAt.set(i + 10, Date.now());
      ws.sendText(JSON.stringify({ id: i + 10, method: 'conversation.create', params: { conversationId: `dave-late-${i}` } }));
      await sleep(150);
    }
    const timeout = sleep(5000).then(() => Infinity);
    const [daveEnded, erinEnded] = await Promise.all([Promise.race([ws.ended, timeout]), Promise.race([erinClosed, timeout])]);
    ws.destroy();
    expect(daveEnded - daveRevoked).toBeLessThan(1000);
    expect(erinEnded - erinRevoked).toBeLessThan(1000);
    const served = ws.texts.map((t) => JSON.parse(t)).filter((f) => f.result !== undefined && sentAt.get(f.id)! > daveRevoked + 1000);
    expect(served).toEqual([]);
    await expect(erin.reconnect(acme.url)).rejects.toMatchObject({ code: 'revoked' });
  });

  it('enrollment failures are limited per address across instances, not per instance', async () => {
    // 12 bad requests spread over the three instances: 10 may fail as such, then every instance says 429
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await fetch(acme.instances[i % 3]!.url + '/v1/enroll', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      statuses.push(r.status);
    }
    expect(statuses.filter((s) => s === 400).length).toBe(10);
    expect(statuses.slice(10)).toEqual([429, 429]);
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
    // generous: on a loaded machine the sends alone took 5 s; without the catch-up they never arrive
    await waitFor(() => texts(bob, 'c').length >= before + 20, 40_000);
    expect(texts(bob, 'c').slice(before)).toEqual(Array.from({ length: 20 }, (_, i) => `during outage ${i}`));
    // and live push works again
    await alice.client.send({ conversationId: 'c', messageId: 'after-nats', kind: 'application', epoch: 1, payload: b64('after nats') });
    await waitFor(() => texts(bob, 'c').includes('after nats')).catch((e: unknown) => {
      for (const g of acme.instances.slice(0, 2)) console.log(g.logs.filter((l) => /NATS|catch|stream/.test(l)).join('\n'));
      throw e;
    });
    expect(texts(bob, 'c').filter((t) => t.startsWith('during outage')).length).toBe(20);
    await waitFor(async () => (await fetch(acme.url + '/readyz')).status === 200);
  }, 120_000);

  it('NATS back while PostgreSQL is still away: the catch-up is tried again until the database answers', async () => {
    const before = texts(bob, 'c').length;
    await acme.nats.stop();
    try {
      for (let i = 0; i < 5; i++)
        await alice.client.send({ conversationId: 'c', messageId: `np${i}`, kind: 'application', epoch: 1, payload: b64(`np ${i}`) });
      await acme.db.stop();
    } finally {
      await acme.nats.start();
    }
    try {
      // bob's instance is back on NATS, and its first catch-up found no database
      await waitFor(() => acme.instances[1]!.logs.some((l) => l.includes('catch-up after NATS outage failed')), 30_000);
      expect(texts(bob, 'c').length).toBe(before);
    } finally {
      await acme.db.start();
    }
    await waitFor(() => texts(bob, 'c').length >= before + 5, 40_000);
    expect(texts(bob, 'c').slice(before)).toEqual(Array.from({ length: 5 }, (_, i) => `np ${i}`));
    await allReady();
  }, 120_000);

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
    await allReady();
    await alice.client.send({ conversationId: 'c', messageId: 'pg-back', kind: 'application', epoch: 1, payload: b64('after postgres') });
    await waitFor(() => texts(bob, 'c').includes('after postgres') && texts(gina, 'c').includes('after postgres'));
    for (const g of acme.instances) expect(g.process.exitCode).toBeNull();
  });
});
