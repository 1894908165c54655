/**
 * Issue 14, findings 11 and 12: enrollment failure limits are reserved before any work, per
 * client address (behind the proxy, with --trust-proxy) and per code; a certificate names only
 * keys the enrolling device proved it holds, and a key is enrolled once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, mlsKeyOptions, type GatewayHandle } from './helpers';
import { enroll, type KontorError } from '../../src/wire/client';
import { generateKeyPair, sign, type Ed25519KeyPair } from '../../src/wire/ed25519';
import { enrollTranscript } from '../../src/wire/protocol';

let direct: GatewayHandle;
let proxied: GatewayHandle;
beforeAll(async () => {
  [direct, proxied] = await Promise.all([
    startGateway({ domain: 'acme.example' }),
    startGateway({ domain: 'globex.example', extraArgs: ['--trust-proxy'] }),
  ]);
});
afterAll(async () => {
  await Promise.all([direct?.stop(), proxied?.stop()]);
});

const errCode = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: KontorError) => e.code,
  );
const wrongCode = () => Array.from({ length: 4 }, () => Math.random().toString(36).slice(2, 6).toUpperCase().padEnd(4, 'X')).join('-');

/** A well-formed enrollment body, both proofs made by the keys given (or by `forge` instead of the MLS key). */
async function body(gw: GatewayHandle, code: string, dev: Ed25519KeyPair, mls: Ed25519KeyPair, forge?: Ed25519KeyPair) {
  const t = { domain: gw.domain, code, devicePublicKey: dev.publicKeyB64, mlsSignatureKey: mls.publicKeyB64 };
  return JSON.stringify({
    ...t,
    domain: undefined,
    proof: await sign(dev.privateKey, enrollTranscript('device', t)),
    mlsProof: await sign((forge ?? mls).privateKey, enrollTranscript('mls', t)),
  });
}

async function post(gw: GatewayHandle, b: string, forwardedFor?: string) {
  const r = await fetch(gw.url + '/v1/enroll', {
    method: 'POST',
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    body: b,
  });
  return { status: r.status, code: ((await r.json()) as { error?: { code: string } }).error?.code ?? 'ok' };
}

describe('enrollment limits (issue 14: 11)', () => {
  it('40 simultaneous wrong codes: only 10 are evaluated, the rest refused before any work', async () => {
    const [dev, mls] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    const bodies = await Promise.all(Array.from({ length: 40 }, () => body(direct, wrongCode(), dev, mls)));
    const answers = await Promise.all(bodies.map((b) => post(direct, b)));
    expect(answers.filter((a) => a.code === 'invalid_code')).toHaveLength(10);
    expect(answers.filter((a) => a.code === 'rate_limited')).toHaveLength(30);
    // without --trust-proxy a forwarded-for header is the client's own word and changes nothing
    expect((await post(direct, await body(direct, wrongCode(), dev, mls), '198.51.100.1')).code).toBe('rate_limited');
  });

  it('behind the proxy one attacker locks out only himself, not the other employees', async () => {
    const [dev, mls] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    // the proxy appends the real address; what the client put before it is ignored
    const attacker = (spoof: string) => `${spoof}, 203.0.113.7`;
    for (let i = 0; i < 10; i++)
      expect((await post(proxied, await body(proxied, wrongCode(), dev, mls), attacker(`10.0.0.${i}`))).code).toBe('invalid_code');
    expect((await post(proxied, await body(proxied, wrongCode(), dev, mls), attacker('10.9.9.9'))).code).toBe('rate_limited');
    // IPv6: a whole /64 is one client
    for (let i = 0; i < 10; i++) await post(proxied, await body(proxied, wrongCode(), dev, mls), `2001:db8:1:2::${i + 1}`);
    expect((await post(proxied, await body(proxied, wrongCode(), dev, mls), '2001:db8:1:2:ffff::1')).code).toBe('rate_limited');
    // a colleague behind the same proxy enrolls
    const code = await proxied.enroll('bob', 'Bob');
    const [bobDev, bobMls] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    expect(await post(proxied, await body(proxied, code, bobDev, bobMls), '198.51.100.20')).toEqual({ status: 200, code: 'ok' });
  });

  it('one code can be tried 10 times in all, from however many addresses', async () => {
    const code = await proxied.enroll('carol', 'Carol');
    const [dev, mls, other] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair()]);
    for (let i = 0; i < 10; i++)
      expect((await post(proxied, await body(proxied, code, dev, mls, other), `192.0.2.${i + 1}`)).code).toBe('bad_request');
    expect((await post(proxied, await body(proxied, code, dev, mls), '192.0.2.200')).code).toBe('rate_limited');
  });
});

describe('enrollment proof of possession (issue 14: 12)', () => {
  it("refuses a certificate for an MLS key the device does not hold (another device's key)", async () => {
    const victimMls = await generateKeyPair();
    const [dev, own] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    const code = await proxied.enroll('eve', 'Eve');
    // claims the victim's public MLS key, signs with its own
    const r = await post(proxied, await body(proxied, code, dev, victimMls, own), '192.0.2.50');
    expect(r).toEqual({ status: 400, code: 'bad_request' });
    // the code was not used up by the refused attempt
    expect(await errCode(enroll({ gatewayUrl: proxied.url, domain: proxied.domain, code, deviceKey: dev, ...mlsKeyOptions(own) }))).toBe(
      'ok',
    );
  });

  it('enrolls a device key and an MLS key once; a refused second enrollment keeps its code', async () => {
    const [dev, mls, dev2, mls2] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()]);
    const first = await proxied.enroll('frank', 'Frank');
    await enroll({ gatewayUrl: proxied.url, domain: proxied.domain, code: first, deviceKey: dev, ...mlsKeyOptions(mls) });
    const second = await proxied.enroll('frank', 'Frank');
    expect(
      await errCode(enroll({ gatewayUrl: proxied.url, domain: proxied.domain, code: second, deviceKey: dev, ...mlsKeyOptions(mls2) })),
    ).toBe('conflict');
    expect(
      await errCode(enroll({ gatewayUrl: proxied.url, domain: proxied.domain, code: second, deviceKey: dev2, ...mlsKeyOptions(mls) })),
    ).toBe('conflict');
    expect(
      await errCode(enroll({ gatewayUrl: proxied.url, domain: proxied.domain, code: second, deviceKey: dev2, ...mlsKeyOptions(mls2) })),
    ).toBe('ok');
    const listed = JSON.parse(await proxied.admin(['devices', 'list', '--employee', 'frank', '--json']));
    expect(listed).toHaveLength(2);
  });
});
