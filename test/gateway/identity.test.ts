import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, newDevice, mlsKeyOptions, type GatewayHandle } from './helpers';
import { fetchManifest, enroll, KontorClient, type KontorError } from '../../src/wire/client';
import { fingerprint } from '../../src/wire/manifest';
import { verifyCertificate } from '../../src/wire/certificate';
import { generateKeyPair, sign } from '../../src/wire/ed25519';
import { authChallenge } from '../../src/wire/protocol';

let gw: GatewayHandle;
beforeAll(async () => {
  gw = await startGateway({
    domain: 'acme.example',
    extraArgs: ['--metrics-port', '0', '--org-name', 'ACME GmbH', '--profile', 'https://www.linkedin.com/company/acme'],
  });
});
afterAll(async () => gw?.stop());

const errCode = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: KontorError) => e.code,
  );

describe('gateway identity, enrollment and device auth', () => {
  it('serves healthz, Prometheus metrics and a signed manifest with admin-managed contacts', async () => {
    expect(await (await fetch(gw.url + '/healthz')).json()).toMatchObject({ ok: true, domain: 'acme.example' });
    await gw.admin(['contacts', 'add', 'sales', '--name', 'Sales', '--member', 'alice']);
    await new Promise((r) => setTimeout(r, 1100)); // manifest cache TTL
    const m = await fetchManifest('acme.example', { baseUrl: gw.url });
    expect(m).toMatchObject({
      orgName: 'ACME GmbH',
      contacts: [{ id: 'sales', name: 'Sales' }],
      profiles: ['https://www.linkedin.com/company/acme'],
    });
    const fp = JSON.parse(await gw.admin(['fingerprint', '--json'])).fingerprint;
    expect(await fingerprint(m.orgPublicKey)).toBe(fp);
    const metrics = await (await fetch(`http://127.0.0.1:${gw.metricsPort}/metrics`)).text();
    expect(metrics).toContain('# TYPE kontor_http_requests_total counter');
    expect(metrics).toMatch(/kontor_http_requests_total\{route="\/healthz",status="200"\} \d+/);
  });

  it('redeems a code once and issues an org-signed certificate', async () => {
    const code = await gw.enroll('bob', 'Bob Meyer');
    const mls = await generateKeyPair();
    const m = await fetchManifest('acme.example', { baseUrl: gw.url });
    const { certificate } = await enroll({
      gatewayUrl: gw.url,
      domain: gw.domain,
      code,
      ...mlsKeyOptions(mls),
      orgPublicKey: m.orgPublicKey,
    });
    await expect(verifyCertificate(certificate, m.orgPublicKey, { domain: 'acme.example' })).resolves.toMatchObject({
      employeeId: 'bob',
      displayName: 'Bob Meyer',
      mlsSignatureKey: mls.publicKeyB64,
    });
    expect(await errCode(enroll({ gatewayUrl: gw.url, domain: gw.domain, code, ...mlsKeyOptions(mls) }))).toBe('invalid_code');
    const listed = JSON.parse(await gw.admin(['devices', 'list', '--json']));
    expect(listed.map((d: { deviceId: string }) => d.deviceId)).toContain(certificate.deviceId);
  });

  it('refuses expired codes and proofs by another key', async () => {
    const out = JSON.parse(await gw.admin(['enroll', '--employee', 'carol', '--name', 'Carol', '--ttl-hours', '0.0002', '--json']));
    await new Promise((r) => setTimeout(r, 900));
    const mls = await generateKeyPair();
    expect(await errCode(enroll({ gatewayUrl: gw.url, domain: gw.domain, code: out.code, ...mlsKeyOptions(mls) }))).toBe('invalid_code');
    const code = await gw.enroll('carol', 'Carol');
    const dev = await generateKeyPair();
    const bad = await sign((await generateKeyPair()).privateKey, new Uint8Array(1));
    const r = await fetch(gw.url + '/v1/enroll', {
      method: 'POST',
      body: JSON.stringify({ code, devicePublicKey: dev.publicKeyB64, mlsSignatureKey: mls.publicKeyB64, proof: bad, mlsProof: bad }),
    });
    expect(r.status).toBe(400);
    expect((await r.json()).error.code).toBe('bad_request');
  });

  it('authenticates devices by challenge; a replayed answer or a foreign key fails', async () => {
    const dev = await newDevice(gw, 'alice', 'Alice Schmidt');
    expect(dev.client.address).toBe(dev.address);
    // capture a genuine auth frame for nonce N1, replay it on a new connection (new nonce)
    const first = new WebSocket(gw.url.replace('http', 'ws') + '/v1/ws');
    const challenge = JSON.parse((await new Promise<Buffer>((r) => first.once('message', r))).toString());
    const signature = await sign(dev.deviceKey.privateKey, authChallenge(gw.domain, challenge.nonce, dev.certificate.deviceId));
    first.close();
    const replay = new WebSocket(gw.url.replace('http', 'ws') + '/v1/ws');
    await new Promise((r) => replay.once('message', r));
    replay.send(JSON.stringify({ type: 'auth', certificate: dev.certificate, signature }));
    const answer = JSON.parse((await new Promise<Buffer>((r) => replay.once('message', r))).toString());
    expect(answer).toMatchObject({ type: 'error', error: { code: 'unauthorized' } });
    // a stolen certificate without the device key
    const thief = await generateKeyPair();
    expect(
      await errCode(
        KontorClient.connect({
          gatewayUrl: gw.url,
          certificate: dev.certificate,
          deviceKey: thief.privateKey,
          WebSocket: WebSocket as never,
        }),
      ),
    ).toBe('unauthorized');
    dev.client.close();
  });

  it('disconnects and refuses a device revoked by the admin CLI while the server runs', async () => {
    const dev = await newDevice(gw, 'dave', 'Dave');
    const closed = new Promise<number>((r) => dev.client.onClose((code) => r(code)));
    await gw.admin(['devices', 'revoke', dev.certificate.deviceId]);
    expect(await closed).toBe(4001);
    expect(await errCode(dev.reconnect())).toBe('revoked');
  });
});
