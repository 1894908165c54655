/**
 * Issue #14 findings 3, 4, 5, 6, 14 and 15, tried against real gateway processes by peers
 * that misbehave on purpose (fake-peer.ts): huge answers, forged requests, replays after a
 * restart, addresses a peer must not make the gateway connect to, drained key packages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { generateKeyPair } from '../../src/wire/ed25519';
import { startGateway, newDevice, b64, type GatewayHandle, type TestDevice } from './helpers';
import { buildSigned, fakePeer, post, rssMb, streamBytes, type FakePeer } from './fake-peer';
import { FED_HEADER } from '../../src/wire/protocol';

let acme: GatewayHandle; // allowlist: admits partner.example, evil.example, junk.example
let open: GatewayHandle; // open federation policy
let partner: FakePeer;
let evil: FakePeer;
let junk: FakePeer;
let canary: FakePeer;
let huge: FakePeer;
let alice: TestDevice;
let bob: TestDevice;

beforeAll(async () => {
  [partner, canary, junk, huge] = await Promise.all([
    fakePeer('partner.example'),
    fakePeer('canary.example'),
    fakePeer('junk.example'),
    fakePeer('huge.example'),
  ]);
  // evil.example publishes a gatewayUrl outside its mapping (a loopback server): signed POSTs must not go there
  evil = await fakePeer('evil.example', { manifest: { gatewayUrl: canary.url } });
  [acme, open] = await Promise.all([
    startGateway({
      domain: 'acme.example',
      extraArgs: ['--rate-peer', '5'],
      peers: { 'partner.example': partner.url, 'evil.example': evil.url, 'junk.example': junk.url },
    }),
    startGateway({ domain: 'open.example', federation: 'open', peers: { 'huge.example': huge.url, 'partner.example': partner.url } }),
  ]);
  for (const d of ['partner.example', 'evil.example', 'junk.example']) await acme.admin(['partners', 'admit', d]);
  await acme.admin(['contacts', 'add', 'sales', '--name', 'Sales', '--member', 'bob']);
  [alice, bob] = await Promise.all([newDevice(acme, 'alice', 'Alice'), newDevice(acme, 'bob', 'Bob')]);
});
afterAll(async () => Promise.all([acme?.stop(), open?.stop(), ...[partner, evil, junk, canary, huge].map((p) => p?.close())]));

const forger = (domain: string) => generateKeyPair().then((k) => ({ domain, key: k.privateKey }));

describe('byte caps on what peers send (finding 3)', () => {
  it('reads at most 64 KiB of 150 MB manifests named by unsigned requests, and RSS stays flat', async () => {
    // warm-up: the same path with an ordinary manifest, so the baseline includes what any first fetch costs
    await post(
      open.url + '/v1/fed/claim',
      await buildSigned(await forger('partner.example'), 'open.example', '/v1/fed/claim', { contact: 'x' }),
      '127.0.0.5',
    );
    const served: Promise<number>[] = [];
    huge.on('/.well-known/kontor.json', (_req, res) => void served.push(streamBytes(res, 150e6)));
    const before = rssMb(open.process.pid!);
    // five names for the same 150 MB answer: 750 MB offered at once
    const names = [1, 2, 3, 4, 5].map((i) => `huge${i}.example`);
    open.setPeers({ 'huge.example': huge.url, 'partner.example': partner.url, ...Object.fromEntries(names.map((n) => [n, huge.url])) });
    const answers = await Promise.all(
      names.map(async (n) =>
        post(
          open.url + '/v1/fed/claim',
          await buildSigned(await forger(n), 'open.example', '/v1/fed/claim', { contact: 'x' }),
          '127.0.0.5',
        ),
      ),
    );
    for (const r of answers) expect([r.status, r.body.error.message]).toEqual([503, expect.stringMatching(/over the 65536 byte limit/)]);
    for (const n of await Promise.all(served)) expect(n).toBeLessThan(8e6);
    // generous: the young generation alone may grow by tens of MB (--max-semi-space-size=32); reading it all grew RSS by GBs
    expect(rssMb(open.process.pid!) - before).toBeLessThan(60);
  });

  it('refuses a manifest whose Content-Length is over the cap before reading it', async () => {
    let sent = -1;
    huge.on(
      '/.well-known/kontor.json',
      (_req, res) =>
        void streamBytes(res, 150e6, { declareLength: true }).then((n) => {
          sent = n;
        }),
    );
    const r = await post(
      open.url + '/v1/fed/claim',
      await buildSigned(await forger('huge.example'), 'open.example', '/v1/fed/claim', { contact: 'x' }),
      '127.0.0.5',
    );
    expect([r.status, r.body.error.message]).toEqual([503, expect.stringMatching(/answer of 150000000 bytes is over/)]);
    await expect.poll(() => sent, { timeout: 10_000 }).toBeGreaterThanOrEqual(0);
    expect(sent).toBeLessThan(8e6);
  });

  it('reads at most a few MB of a partner’s 150 MB claim answer, and RSS stays flat', async () => {
    partner.on('/v1/fed/claim', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"devices":[]}');
    });
    await alice.client.claimKeyPackages('partner.example', { contact: 'sales' }); // warm-up
    const served: Promise<number>[] = [];
    partner.on('/v1/fed/claim', (req, res) => {
      req.resume();
      served.push(streamBytes(res, 150e6));
    });
    const before = rssMb(acme.process.pid!);
    await expect(alice.client.claimKeyPackages('partner.example', { contact: 'sales' })).rejects.toMatchObject({ code: 'unavailable' });
    expect(await served[0]).toBeLessThan(16e6);
    expect(rssMb(acme.process.pid!) - before).toBeLessThan(60);
  });
});

describe('federation requests are checked before their bodies are read (finding 4)', () => {
  it('answers 40 held-open 4 MB uploads without federation headers at once, reading none of them', async () => {
    const before = rssMb(acme.process.pid!);
    const answers = await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<number>((resolve, reject) => {
            const req = request(acme.url + '/v1/fed/deliver', {
              method: 'POST',
              headers: { 'content-length': String(4 * 1024 * 1024), 'content-type': 'application/json' },
              localAddress: '127.0.0.4',
              agent: false,
            });
            req.on('response', (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
              req.destroy();
            });
            req.on('error', () => undefined);
            req.write(Buffer.alloc(64 * 1024, 0x20)); // and then hold the upload open
            setTimeout(() => reject(new Error('no answer before the body ended')), 10_000);
          }),
      ),
    );
    expect(new Set(answers)).toEqual(new Set([401, 429]));
    expect(answers.filter((s) => s === 401).length).toBeGreaterThanOrEqual(25);
    expect(rssMb(acme.process.pid!) - before).toBeLessThan(20);
  });
});

describe('federation headers', () => {
  it('a request without its signature header gets a clear 401', async () => {
    const signed = await buildSigned(partner, 'acme.example', '/v1/fed/claim', { contact: 'sales' });
    const { [FED_HEADER.signature]: _s, ...noSig } = signed.headers;
    const r = await post(acme.url + '/v1/fed/claim', { ...signed, headers: noSig }, '127.0.0.7');
    expect([r.status, r.body.error.code]).toEqual([401, 'unauthorized']);
  });
});

describe('peer names and addresses (finding 5)', () => {
  it('refuses IP literals, localhost and single labels as peer names without connecting anywhere', async () => {
    for (const name of ['127.0.0.1', 'localhost', 'gw.localhost', 'intranet', '10.1.2.3']) {
      const t0 = Date.now();
      const r = await post(
        open.url + '/v1/fed/claim',
        await buildSigned(await forger(name), 'open.example', '/v1/fed/claim', { contact: 'x' }),
        '127.0.0.6',
      );
      expect([name, r.status, r.body.error.message]).toEqual([name, 401, expect.stringMatching(/not a public DNS name/)]);
      expect(Date.now() - t0).toBeLessThan(2_000);
    }
    expect(open.logs.join('\n')).not.toMatch(/cannot fetch manifest of (127|localhost|gw\.|intranet|10\.)/);
  });

  it('never sends a signed request to a gatewayUrl outside the peer’s mapping', async () => {
    await expect(alice.client.claimKeyPackages('evil.example', { contact: 'sales' })).rejects.toMatchObject({ code: 'forbidden' });
    expect(canary.hits).toEqual([]);
  });
});

describe('forgeries naming a real partner (finding 6)', () => {
  it('neither drain the partner’s rate bucket nor make the gateway refetch its manifest for each', async () => {
    partner.on('/v1/fed/claim', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"devices":[]}');
    });
    const genuine = () => buildSigned(partner, 'acme.example', '/v1/fed/claim', { contact: 'sales' });
    expect((await post(acme.url + '/v1/fed/claim', await genuine())).status).toBe(200);
    const fetchesBefore = partner.manifestFetches;
    const key = await forger('partner.example');
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++)
      statuses.push(
        (await post(acme.url + '/v1/fed/claim', await buildSigned(key, 'acme.example', '/v1/fed/claim', { contact: 'sales' }), '127.0.0.2'))
          .status,
      );
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    // past its budget of failures the forger's address is refused outright
    expect(statuses.slice(30).every((s) => s === 429)).toBe(true);
    expect(partner.manifestFetches - fetchesBefore).toBeLessThanOrEqual(1);
    // --rate-peer 5 gives the partner a bucket of 10: it is untouched by the 60 forgeries
    for (let i = 0; i < 5; i++) expect((await post(acme.url + '/v1/fed/claim', await genuine())).status).toBe(200);
  });
});

describe('replay protection survives a restart (finding 14)', () => {
  it('refuses a captured request replayed after the gateway restarted', async () => {
    await bob.client.uploadKeyPackages([b64('bob-kp-1'), b64('bob-kp-2')], b64('bob-lr'));
    const captured = await buildSigned(partner, 'acme.example', '/v1/fed/claim', { contact: 'sales' });
    const first = await post(acme.url + '/v1/fed/claim', captured);
    expect(first.status).toBe(200);
    await acme.restart();
    const again = await post(acme.url + '/v1/fed/claim', captured);
    await Promise.all([alice.reconnect(), bob.reconnect()]);
    expect([again.status, again.body?.error?.message]).toEqual([401, 'replayed request']);
  });
});

describe('a delivery records its nonce in the commit that stores it', () => {
  it('refuses a captured delivery replayed after the first was acknowledged, also after a restart, and stores nothing', async () => {
    const welcome = {
      type: 'deliver',
      conversationId: 'replayed-conv',
      hub: 'partner.example',
      seq: 1,
      messageId: 'replayed-w',
      kind: 'welcome',
      epoch: 1,
      sender: 'p1@partner.example',
      payload: b64('welcome'),
      recipients: [bob.certificate.deviceId],
    };
    const captured = await buildSigned(partner, 'acme.example', '/v1/fed/deliver', { items: [welcome] });
    const first = await post(acme.url + '/v1/fed/deliver', captured);
    expect([first.status, first.body]).toEqual([200, { stored: 1 }]);
    const { entries } = await bob.client.fetchInbox(0);
    const mine = entries.filter((e) => e.messageId === 'replayed-w');
    expect(mine.map((e) => e.payload)).toEqual([b64('welcome')]);
    // acknowledged: the inbox holds nothing a copy could be recognised by
    await bob.client.ack(mine.map((e) => e.id));
    const again = await post(acme.url + '/v1/fed/deliver', captured);
    expect([again.status, again.body?.error?.message]).toEqual([401, 'replayed request']);
    await acme.restart();
    const afterRestart = await post(acme.url + '/v1/fed/deliver', captured);
    await Promise.all([alice.reconnect(), bob.reconnect()]);
    expect([afterRestart.status, afterRestart.body?.error?.message]).toEqual([401, 'replayed request']);
    expect((await bob.client.fetchInbox(0)).entries.filter((e) => e.messageId === 'replayed-w')).toEqual([]);
  });
});

describe('key package claims (finding 15)', () => {
  it('hand out a device’s one-time packages at a bounded rate, however often a colleague claims', async () => {
    const carol = await newDevice(acme, 'carol', 'Carol');
    await carol.client.uploadKeyPackages(
      Array.from({ length: 60 }, (_, i) => b64(`carol-${i}`)),
      b64('carol-lr'),
    );
    const got: boolean[] = [];
    for (let i = 0; i < 60; i++)
      got.push(...(await alice.client.claimKeyPackages('acme.example', { employee: 'carol' })).devices.map((d) => d.lastResort));
    expect(got.filter((lr) => !lr).length).toBeLessThanOrEqual(20);
    expect(got.length).toBe(60); // every claim still got a package: the last-resort one
    expect((await carol.client.call('keyPackages.count')).available).toBeGreaterThanOrEqual(40);
  });

  it('validate a partner’s claim answer before handing it to the device', async () => {
    const bad = [
      { devices: [{ certificate: 'not a certificate', keyPackage: 5, lastResort: 'no' }] },
      { devices: 'many' },
      { devices: [{ ...alice.certificate, keyPackage: b64('x') }] },
    ];
    for (const body of bad) {
      junk.on('/v1/fed/claim', (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
      await expect(alice.client.claimKeyPackages('junk.example', { contact: 'sales' })).rejects.toMatchObject({ code: 'unavailable' });
    }
    // a well-formed answer carrying another org's certificate
    junk.on('/v1/fed/claim', (req, res) => {
      req.resume();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ devices: [{ certificate: alice.certificate, keyPackage: b64('x'), lastResort: false }] }));
    });
    await expect(alice.client.claimKeyPackages('junk.example', { contact: 'sales' })).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/another org/),
    });
  });
});
