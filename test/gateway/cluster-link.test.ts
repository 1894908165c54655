/**
 * Linking (issue 15/16) with acme.example as three instances behind HAProxy on PostgreSQL and
 * NATS: the new browser's requests and the enrolled device's connection reach different
 * instances, and the link limits hold across them. Its own cluster, so the linking and the
 * guesses leave nothing behind for cluster.test.ts's outage tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { startCluster, type ClusterHandle } from './cluster-helpers';
import { enrollWithIdentity, grantFor, newLinkKeys } from './link-helpers';
import { LinkingDevice, NewDeviceLink } from '../../src/wire/link-flow';
import { KontorClient } from '../../src/wire/client';
import { verifyCertificate } from '../../src/wire/certificate';
import { CHAIN_TYPE, verifyChain } from '../../src/wire/identity';
import { linkLocator } from '../../src/wire/link';

let acme: ClusterHandle;
beforeAll(async () => {
  acme = await startCluster({ domain: 'acme.example' });
}, 120_000);
afterAll(async () => acme?.stop());

describe('linking across three instances behind HAProxy', () => {
  it('links a browser whose requests reach different instances: B opens on instance 1, A joins and confirms on instance 2, B reads the grant from instance 3', async () => {
    const lena = await enrollWithIdentity({
      gatewayUrl: acme.url,
      domain: acme.domain,
      code: () => acme.instances[0]!.enroll('lena', 'Lena'),
      connectUrl: acme.instances[1]!.url,
    });
    // B has no certificate and talks plain HTTP: each of its requests goes where `route` says
    let route = () => 0;
    const reached = new Set<number>();
    const via: typeof fetch = (input, init) => {
      const i = route();
      reached.add(i);
      return fetch(String(input).replace(acme.url, acme.instances[i]!.url), init);
    };
    const b = await NewDeviceLink.start({ gatewayUrl: acme.url, domain: acme.domain, fetch: via });
    // while A joins, B's polls and its reveal go round the three instances
    let n = 0;
    route = () => n++ % 3;
    const { keys, device: bKey } = await newLinkKeys();
    const [sasB, a] = await Promise.all([b.answer(keys), LinkingDevice.join(lena.client, acme.domain, b.code)]);
    expect(a.sas).toBe(sasB);
    const certificate = await a.certify();
    await verifyCertificate(certificate, lena.orgKey, { domain: acme.domain });
    const grant = await grantFor(lena, certificate);
    await a.send(grant, []);
    route = () => 2;
    const got = await b.receive();
    expect(got.grant).toEqual(grant);
    await Promise.all([b.ready(), a.waitReady()]);
    expect([...reached].sort()).toEqual([0, 1, 2]);
    await verifyChain(
      { type: CHAIN_TYPE, v: 1, device: got.grant.certificate, identity: got.grant.identity, endorsement: got.grant.endorsement },
      lena.orgKey,
    );
    // B is enrolled: it connects through the load balancer like any device
    const bClient = await KontorClient.connect({
      gatewayUrl: acme.url,
      certificate,
      deviceKey: bKey.privateKey,
      WebSocket: WebSocket as never,
    });
    expect((await bClient.call('directory.devices', { employee: 'lena' })).devices.map((d) => d.deviceId)).toContain(certificate.deviceId);
    // single use, whichever instance is asked: the code leads nowhere, the session gives no second certificate
    await expect(bClient.call('link.join', { locator: await linkLocator(b.code) })).rejects.toMatchObject({ code: 'not_found' });
    await expect(a.certify()).rejects.toMatchObject({ code: 'conflict' });
    bClient.close();
    lena.client.close();
  });

  it('guessing link session ids is limited per address across instances, not per instance', async () => {
    // 24 unknown ids spread over the three instances: 20 may miss as such, then every instance says 429
    const statuses: number[] = [];
    for (let i = 0; i < 24; i++) {
      const r = await fetch(acme.instances[i % 3]!.url + '/v1/link/read', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sessionId: randomBytes(16).toString('hex'), after: -1 }),
      });
      statuses.push(r.status);
    }
    expect(statuses.filter((s) => s === 404).length).toBe(20);
    expect(statuses.slice(20)).toEqual([429, 429, 429, 429]);
  });
});
