import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, newDevice, b64, unb64, type GatewayHandle, type TestDevice } from './helpers';
import { fetchManifest } from '../../src/wire/client';
import { verifyCertificate } from '../../src/wire/certificate';
import { fingerprint } from '../../src/wire/manifest';
import { generateKeyPair } from '../../src/wire/ed25519';
import type { InboxEntry, PushEvent } from '../../src/wire/protocol';
import { buildSigned as signRequest, type Signer } from './fake-peer';

let acme: GatewayHandle;
let globex: GatewayHandle;
let initech: GatewayHandle;
let alice: TestDevice; // acme
let gina: TestDevice; // globex
beforeAll(async () => {
  [acme, globex] = await Promise.all([
    startGateway({ domain: 'acme.example' }),
    startGateway({ domain: 'globex.example', federation: 'open' }),
  ]);
  initech = await startGateway({ domain: 'initech.example', peers: { 'acme.example': acme.url, 'globex.example': globex.url } });
  acme.setPeers({ 'globex.example': globex.url, 'initech.example': initech.url });
  globex.setPeers({ 'acme.example': acme.url, 'initech.example': initech.url });
  const fpOf = async (g: GatewayHandle) => JSON.parse(await g.admin(['fingerprint', '--json'])).fingerprint as string;
  // acme pins globex's key fingerprint; globex admits acme without a pin
  await acme.admin(['partners', 'admit', 'globex.example', '--fingerprint', await fpOf(globex)]);
  await globex.admin(['partners', 'admit', 'acme.example']);
  await initech.admin(['partners', 'admit', 'acme.example']);
  await initech.admin(['partners', 'admit', 'globex.example']);
  await acme.admin(['contacts', 'add', 'purchasing', '--name', 'Purchasing', '--member', 'alice']);
  await globex.admin(['contacts', 'add', 'sales', '--name', 'Sales', '--member', 'gina']);
  [alice, gina] = await Promise.all([newDevice(acme, 'alice', 'Alice Schmidt'), newDevice(globex, 'gina', 'Gina Rossi')]);
});
afterAll(async () => Promise.all([acme?.stop(), globex?.stop(), initech?.stop()]));

function nextEntry(d: TestDevice, pred: (e: InboxEntry) => boolean): Promise<InboxEntry> {
  return new Promise((resolve) => {
    const off = d.client.onEvent((e: PushEvent) => {
      if (e.event === 'inbox' && pred(e.entry)) {
        off();
        resolve(e.entry);
      }
    });
  });
}

describe('two federated gateways', () => {
  it('look up each other’s manifests', async () => {
    const g = await fetchManifest('globex.example', { baseUrl: globex.url });
    const a = await fetchManifest('acme.example', {
      baseUrl: acme.url,
      pinnedFingerprint: JSON.parse(await acme.admin(['fingerprint', '--json'])).fingerprint,
    });
    expect(g.contacts).toEqual([{ id: 'sales', name: 'Sales' }]);
    expect(a.gatewayUrl).toBe(acme.url);
    expect(await fingerprint(g.orgPublicKey)).not.toBe(await fingerprint(a.orgPublicKey));
  });

  it('exchange key packages across orgs and deliver ciphertext both ways with receipts', async () => {
    await gina.client.uploadKeyPackages([b64('gina-kp')], b64('gina-lr'));
    await alice.client.uploadKeyPackages([b64('alice-kp')]);
    const claimed = await alice.client.claimKeyPackages('globex.example', { contact: 'sales' });
    expect(claimed.devices).toHaveLength(1);
    const g = await fetchManifest('globex.example', { baseUrl: globex.url });
    const cert = await verifyCertificate(claimed.devices[0]!.certificate, g.orgPublicKey, { domain: 'globex.example' });
    expect([cert.employeeId, unb64(claimed.devices[0]!.keyPackage)]).toEqual(['gina', 'gina-kp']);
    const back = await gina.client.claimKeyPackages('acme.example', { contact: 'purchasing' });
    expect(back.devices.map((d) => unb64(d.keyPackage))).toEqual(['alice-kp']);

    await alice.client.createConversation('deal-42');
    const members = [alice.address, gina.address];
    const partnerReceipt = nextEntry(
      alice,
      (e) => e.kind === 'receipt' && e.receipt?.status === 'partner' && e.receipt.messageIds.includes('w1'),
    );
    const welcome = nextEntry(gina, (e) => e.kind === 'welcome');
    await alice.client.send({ conversationId: 'deal-42', messageId: 'c1', kind: 'commit', epoch: 0, payload: b64('commit'), members });
    await alice.client.send({
      conversationId: 'deal-42',
      messageId: 'w1',
      kind: 'welcome',
      epoch: 1,
      payload: b64('welcome-gina'),
      recipients: [gina.address],
    });
    const w = await welcome;
    expect([w.hub, w.sender, unb64(w.payload!)]).toEqual(['acme.example', alice.address, 'welcome-gina']);
    expect((await partnerReceipt).receipt).toMatchObject({ status: 'partner', by: 'globex.example' });

    // globex -> acme: globex's gateway forwards to the hub, which delivers locally
    const toAlice = nextEntry(alice, (e) => e.kind === 'application');
    const sent = await gina.client.send({
      conversationId: 'deal-42',
      hub: 'acme.example',
      messageId: 'g1',
      kind: 'application',
      epoch: 1,
      payload: b64('hi alice'),
    });
    expect(sent).toMatchObject({ hub: 'acme.example', duplicate: false });
    expect(
      await gina.client.send({
        conversationId: 'deal-42',
        hub: 'acme.example',
        messageId: 'g1',
        kind: 'application',
        epoch: 1,
        payload: b64('hi alice'),
      }),
    ).toEqual({ ...sent, duplicate: true });
    const got = await toAlice;
    expect([got.sender, unb64(got.payload!)]).toEqual([gina.address, 'hi alice']);
    // alice acks: gina gets a delivered receipt through the federation
    const delivered = nextEntry(gina, (e) => e.kind === 'receipt' && e.messageId === 'g1');
    await alice.client.ack([got.id]);
    expect((await delivered).receipt).toEqual({ status: 'delivered', by: alice.address, messageIds: ['g1'] });

    // acme -> globex application, and a conflicting commit from globex is refused by the hub
    const toGina = nextEntry(gina, (e) => e.kind === 'application');
    await alice.client.send({ conversationId: 'deal-42', messageId: 'a1', kind: 'application', epoch: 1, payload: b64('hi gina') });
    expect(unb64((await toGina).payload!)).toBe('hi gina');
    await expect(
      gina.client.send({
        conversationId: 'deal-42',
        hub: 'acme.example',
        messageId: 'g2',
        kind: 'commit',
        epoch: 0,
        payload: b64('x'),
        members,
      }),
    ).rejects.toMatchObject({ code: 'epoch_conflict' });
  });

  it('refuses an unadmitted peer and queues it for approval under the open policy', async () => {
    const ivan = await newDevice(initech, 'ivan', 'Ivan');
    // acme (allowlist) has not admitted initech
    const r = await signedPost(initech, acme.url, 'acme.example', '/v1/fed/claim', { contact: 'purchasing' });
    expect([r.status, r.body.error.code]).toEqual([403, 'forbidden']);
    // globex (open) verifies initech's signature, then queues it
    await expect(ivan.client.claimKeyPackages('globex.example', { contact: 'sales' })).rejects.toMatchObject({ code: 'forbidden' });
    const partners = JSON.parse(await globex.admin(['partners', 'list', '--json']));
    expect(partners.find((p: { domain: string }) => p.domain === 'initech.example')?.status).toBe('pending');
    await globex.admin(['partners', 'approve', 'initech.example']);
    const ok = await ivan.client.claimKeyPackages('globex.example', { contact: 'sales' });
    expect(ok.devices.map((d) => unb64(d.keyPackage))).toEqual(['gina-lr']);
  });

  it('refuses forged, replayed, tampered and impersonating requests', async () => {
    const forger = await generateKeyPair();
    const forged = await signedPost({ domain: 'acme.example', key: forger.privateKey }, globex.url, 'globex.example', '/v1/fed/claim', {
      contact: 'sales',
    });
    expect([forged.status, forged.body.error.code]).toEqual([401, 'unauthorized']);
    // replay of a genuine request
    const genuine = await buildSigned(acme, 'globex.example', '/v1/fed/claim', { contact: 'sales' });
    expect((await fetch(globex.url + '/v1/fed/claim', genuine)).status).toBe(200);
    expect((await fetch(globex.url + '/v1/fed/claim', genuine)).status).toBe(401);
    // body swapped under a valid signature
    const tampered = await buildSigned(acme, 'globex.example', '/v1/fed/claim', { contact: 'sales' });
    expect((await fetch(globex.url + '/v1/fed/claim', { ...tampered, body: JSON.stringify({ contact: 'other' }) })).status).toBe(401);
    // acme cannot deliver on behalf of a hub it is not, nor submit for globex's devices
    const asHub = await signedPost(acme, globex.url, 'globex.example', '/v1/fed/deliver', {
      items: [
        {
          type: 'deliver',
          conversationId: 'x',
          hub: 'initech.example',
          seq: 1,
          messageId: 'x',
          kind: 'application',
          epoch: 0,
          sender: 'd1@initech.example',
          payload: b64('x'),
          recipients: [gina.certificate.deviceId],
        },
      ],
    });
    expect(asHub.status).toBe(403);
    const impersonate = await signedPost(globex, acme.url, 'acme.example', '/v1/fed/submit', {
      sender: alice.address,
      params: { conversationId: 'deal-42', messageId: 'evil', kind: 'application', epoch: 1, payload: b64('x') },
    });
    expect(impersonate.status).toBe(403);
  });
});

// ---- signing raw federation requests, as a peer (or a forger) would (fake-peer.ts signs) ----
async function buildSigned(from: Signer, to: string, path: string, payload: unknown): Promise<RequestInit> {
  const { body, headers } = await signRequest(from, to, path, payload);
  return { method: 'POST', body, headers };
}
async function signedPost(from: Signer, url: string, to: string, path: string, payload: unknown) {
  const r = await fetch(url + path, await buildSigned(from, to, path, payload));
  return { status: r.status, body: await r.json() };
}
