/**
 * Issue 15, linking: a second browser of Alice is linked from her enrolled device through the
 * real gateway's link mailbox, and every abuse the brief names is tried: a wrong code, a
 * relaying party that swaps keys, reuse, oversized bodies, another employee's device, and
 * guessing session ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { startGateway, type GatewayHandle } from './helpers';
import { enrollWithIdentity, grantFor, newLinkKeys, type EnrolledWithIdentity } from './link-helpers';
import { fetchManifest, KontorClient } from '../../src/wire/client';
import { randomBytes, toBase64, toHex } from '../../src/wire/bytes';
import { verifyCertificate } from '../../src/wire/certificate';
import { CHAIN_TYPE, verifyChain } from '../../src/wire/identity';
import { LinkingDevice, NewDeviceLink } from '../../src/wire/link-flow';
import {
  decodeEnvelope,
  deriveLinkKeys,
  encodeEnvelope,
  generateEphemeral,
  linkCommitment,
  linkLocator,
  newLinkCode,
  openLink,
  sealLink,
} from '../../src/wire/link';

let gw: GatewayHandle;
let orgKey: string;
beforeAll(async () => {
  gw = await startGateway({ domain: 'acme.example' });
  orgKey = (await fetchManifest(gw.domain, { baseUrl: gw.url })).orgPublicKey;
});
afterAll(async () => gw?.stop());

const enrolled = (employee: string, name: string): Promise<EnrolledWithIdentity> =>
  enrollWithIdentity({ gatewayUrl: gw.url, domain: gw.domain, code: () => gw.enroll(employee, name) });

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code ?? String(e),
  );
const devicesOf = async (c: KontorClient, employee: string) =>
  (await c.call('directory.devices', { employee })).devices.map((d) => d.deviceId);

describe('linking a second browser (issue 15: linking)', () => {
  it('B ends certified for Alice with a chain org → identity → B; both show one SAS; B then connects like any device', async () => {
    const alice = await enrolled('alice', 'Alice Schmidt');
    const { keys, device } = await newLinkKeys();
    const b = await NewDeviceLink.start({ gatewayUrl: gw.url, domain: gw.domain });
    expect(b.code).toMatch(/^[A-Z0-9]{5}-[A-Z0-9]{5}$/);
    const [sasB, a] = await Promise.all([b.answer(keys), LinkingDevice.join(alice.client, gw.domain, b.code.toLowerCase())]);
    expect(a.sas).toBe(sasB);
    expect(a.sas).toMatch(/^\d{3} \d{3}$/);
    const certificate = await a.certify();
    await verifyCertificate(certificate, orgKey, { domain: gw.domain });
    expect(certificate).toMatchObject({ employeeId: 'alice', displayName: 'Alice Schmidt', devicePublicKey: keys.devicePublicKey });
    const grant = await grantFor(alice, certificate, 1);
    const bob = { deviceId: 'd1', employeeId: 'bob', displayName: 'Bob', orgDomain: 'globex.example' };
    const history = [{ conversations: [{ id: 'c1', messages: [{ id: 'm1', sender: bob, direction: 'in' as const, text: 'hi', at: 1 }] }] }];
    await a.send(grant, history);
    const got = await b.receive();
    expect(got.grant).toEqual(grant);
    expect(got.history).toEqual(history);
    await Promise.all([b.ready(), a.waitReady()]);
    await verifyChain(
      { type: CHAIN_TYPE, v: 1, device: got.grant.certificate, identity: got.grant.identity, endorsement: got.grant.endorsement },
      orgKey,
    );
    const bClient = await KontorClient.connect({
      gatewayUrl: gw.url,
      certificate,
      deviceKey: device.privateKey,
      WebSocket: WebSocket as never,
    });
    expect(bClient.address).toBe(`${certificate.deviceId}@${gw.domain}`);
    expect(await devicesOf(alice.client, 'alice')).toContain(certificate.deviceId);
    // single use: the code leads nowhere now, and the session gives no second certificate
    await expect(codeOf(LinkingDevice.join(alice.client, gw.domain, b.code))).resolves.toBe('not_found');
    await expect(codeOf(a.certify())).resolves.toBe('conflict');
    bClient.close();
    alice.client.close();
  });

  it('a wrong code finds nothing and nothing is certified', async () => {
    const alice = await enrolled('anna', 'Anna');
    const before = await devicesOf(alice.client, 'anna');
    await NewDeviceLink.start({ gatewayUrl: gw.url, domain: gw.domain });
    await expect(codeOf(LinkingDevice.join(alice.client, gw.domain, newLinkCode()))).resolves.toBe('not_found');
    expect(await devicesOf(alice.client, 'anna')).toEqual(before);
    alice.client.close();
  });

  it('a relaying party that swaps keys is detected: a swapped reveal breaks the commitment, a full man in the middle shows two different SASes; nothing is certified', async () => {
    const alice = await enrolled('arne', 'Arne');
    const before = await devicesOf(alice.client, 'arne');
    // half swap: the relay replaces B's revealed key with its own
    const swapReveal = await relay(async (path, body) => {
      if (path !== '/v1/link/send') return body;
      const env = decodeEnvelope(body.body as string);
      if (env.t !== 'reveal') return body;
      return { ...body, body: encodeEnvelope({ ...env, key: (await generateEphemeral()).publicKeyB64 }) };
    });
    const b1 = await NewDeviceLink.start({ gatewayUrl: swapReveal.url, domain: gw.domain });
    const [, a1] = await Promise.allSettled([b1.answer((await newLinkKeys()).keys), LinkingDevice.join(alice.client, gw.domain, b1.code)]);
    expect(a1.status === 'rejected' && (a1.reason as { code: string }).code).toBe('mismatch');
    await swapReveal.close();

    // full man in the middle: the relay commits to its own key toward A, hands B its own key
    // as "A's", opens B's sealed request and re-seals it to A. Every check on A passes, but
    // the two screens show different numbers: the employee says they differ, nothing is certified
    const toA = await generateEphemeral();
    const toB = await generateEphemeral();
    const seen: { commitmentB?: string; sessionId?: string; aKey?: string } = {};
    const transcript = (commitment: string, aKey: string, bKey: string) => ({
      domain: gw.domain,
      sessionId: seen.sessionId!,
      commitment,
      aKey,
      bKey,
    });
    let sasOnB = '';
    const mitm = await relay(
      async (path, body) => {
        if (path === '/v1/link/open') {
          seen.commitmentB = body.commitment as string;
          return { ...body, commitment: await linkCommitment(toA.publicKeyB64) };
        }
        if (path !== '/v1/link/send') return body;
        const env = decodeEnvelope(body.body as string);
        if (env.t !== 'reveal') return body;
        const withB = await deriveLinkKeys(toB.privateKey, env.key, transcript(seen.commitmentB!, toB.publicKeyB64, env.key));
        sasOnB = withB.sas;
        const request = await openLink(withB.toA, seen.sessionId!, 'request', env.box);
        const aCommitment = await linkCommitment(toA.publicKeyB64);
        const withA = await deriveLinkKeys(toA.privateKey, seen.aKey!, transcript(aCommitment, seen.aKey!, toA.publicKeyB64));
        const box = await sealLink(withA.toA, seen.sessionId!, 'request', request);
        return { ...body, body: encodeEnvelope({ t: 'reveal', key: toA.publicKeyB64, box }) };
      },
      async (path, answer) => {
        if (path === '/v1/link/open') seen.sessionId = (answer as { sessionId: string }).sessionId;
        if (path !== '/v1/link/read') return answer;
        const r = answer as { messages: { index: number; body: string }[] };
        for (const m of r.messages) {
          const env = decodeEnvelope(m.body);
          if (env.t !== 'hello') continue;
          seen.aKey = env.key;
          m.body = encodeEnvelope({ t: 'hello', key: toB.publicKeyB64 });
        }
        return r;
      },
    );
    const b2 = await NewDeviceLink.start({ gatewayUrl: mitm.url, domain: gw.domain });
    const [sasB, a2] = await Promise.all([b2.answer((await newLinkKeys()).keys), LinkingDevice.join(alice.client, gw.domain, b2.code)]);
    expect(sasB).toBe(sasOnB);
    expect(a2.sas).not.toBe(sasB);
    await mitm.close();
    expect(await devicesOf(alice.client, 'arne')).toEqual(before);
    alice.client.close();
  });

  it('a device of another employee gets no certificate through Alice’s session, and joining B’s code certifies for itself only', async () => {
    const alice = await enrolled('alma', 'Alma');
    const bob = await enrolled('bob', 'Bob');
    const { keys } = await newLinkKeys();
    const b = await NewDeviceLink.start({ gatewayUrl: gw.url, domain: gw.domain });
    const [, a] = await Promise.all([b.answer(keys), LinkingDevice.join(alice.client, gw.domain, b.code)]);
    await expect(codeOf(bob.client.call('device.link', { sessionId: a.sessionId, ...a.request }))).resolves.toBe('not_found');
    await expect(codeOf(bob.client.call('link.read', { sessionId: a.sessionId, after: -1 }))).resolves.toBe('not_found');
    expect(await devicesOf(alice.client, 'alma')).toEqual([alice.certificate.deviceId]);
    // the employee always comes from the authenticated connection: Bob's own join names Bob
    const b2 = await NewDeviceLink.start({ gatewayUrl: gw.url, domain: gw.domain });
    const [, viaBob] = await Promise.all([b2.answer((await newLinkKeys()).keys), LinkingDevice.join(bob.client, gw.domain, b2.code)]);
    expect((await viaBob.certify()).employeeId).toBe('bob');
    alice.client.close();
    bob.client.close();
  });

  it('a session B opened but nobody joined takes no message from B; an oversized body is refused before it is read', async () => {
    const b = await NewDeviceLink.start({ gatewayUrl: gw.url, domain: gw.domain });
    const r = await post('/v1/link/send', { sessionId: b.sessionId, body: toBase64(randomBytes(16)) });
    expect(r.status).toBe(409);
    // 1 MB announced, nothing sent: the answer comes at once and the connection closes
    const answer = await rawPost('/v1/link/send', 1024 * 1024);
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
  });

  it('guessing session ids and codes is rate-limited per address and per device', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 24; i++) statuses.push((await post('/v1/link/read', { sessionId: toHex(randomBytes(16)), after: -1 })).status);
    expect(statuses.slice(0, 20).every((s) => s === 404)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    const guesser = await enrolled('gus', 'Gus');
    const codes: string[] = [];
    for (let i = 0; i < 24; i++) codes.push(await codeOf(guesser.client.call('link.join', { locator: await linkLocator(newLinkCode()) })));
    expect(codes.slice(0, 20).every((c) => c === 'not_found')).toBe(true);
    expect(codes.at(-1)).toBe('rate_limited');
    guesser.client.close();
  });
});

function post(path: string, body: unknown) {
  return fetch(gw.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Announces `length` bytes and sends none: what comes back before any body byte is sent. */
function rawPost(path: string, length: number): Promise<string> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, () =>
      sock.write(`POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`),
    );
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
    setTimeout(() => {
      sock.destroy();
      resolve(got);
    }, 5_000);
  });
}

type Rewrite = (path: string, body: Record<string, unknown>) => Promise<unknown>;

/** A relaying party in B's path to the gateway that may rewrite B's requests and the gateway's answers. */
async function relay(
  rewrite: Rewrite,
  rewriteAnswer: (path: string, answer: unknown) => Promise<unknown> = async (_p, a) => a,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    try {
      await forward(req, res);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal', message: String(e) } }));
    }
  });
  const forward = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = req.url ?? '/';
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
    const r = await fetch(gw.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await rewrite(path, body)),
    });
    let answer = await r.json();
    if (r.ok) answer = await rewriteAnswer(path, answer);
    res.writeHead(r.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  };
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
