/**
 * The channel engine (src/background/channel) end to end against two real gateway processes:
 * enrollment with the engine's own keys, key packages through federation, MLS conversation
 * across orgs, receipts, and no plaintext in the gateways' data files.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startPartners, type GatewayHandle } from './helpers';
import { waitFor } from '../support/poll';
import { enroll, fetchManifest, KontorClient } from '../../src/wire/client';
import {
  ChannelEngine, Keystore, gatewayTransport, loadOrCreateIdentity, openChannelDb, saveCertificate, type ChannelEvent,
} from '../../src/background/channel';

import { signWithSignatureKey } from '../../src/background/channel/mls';
import { toBase64 } from '../../src/wire/bytes';

let acme: GatewayHandle;
let globex: GatewayHandle;
const orgKeys = new Map<string, string>();

interface Dev { engine: ChannelEngine; client: KontorClient; events: ChannelEvent[] }

async function device(gw: GatewayHandle, employee: string, name: string): Promise<Dev> {
  const db = await openChannelDb(`gw-channel-${employee}-${Math.random()}`);
  const ks = await Keystore.open(db);
  const id = await loadOrCreateIdentity(db, ks);
  const code = await gw.enroll(employee, name);
  const employeeKey = id.employeeKey!;
  const { certificate, identity } = await enroll({
    gatewayUrl: gw.url, domain: gw.domain, code, mlsSignatureKey: id.mlsSignaturePublicB64, signWithMlsKey: (d) => signWithSignatureKey(id.mlsSignature.signKey, d), deviceKey: id.deviceKey, orgPublicKey: orgKeys.get(gw.domain),
    identity: { publicKeyB64: toBase64(employeeKey.publicKey), sign: (d) => signWithSignatureKey(employeeKey.signKey, d) },
  });
  await saveCertificate(db, certificate, identity);
  const client = await KontorClient.connect({ gatewayUrl: gw.url, certificate, deviceKey: id.deviceKey.privateKey, WebSocket: WebSocket as never });
  const events: ChannelEvent[] = [];
  const engine = await ChannelEngine.open({ db, transport: gatewayTransport(client), orgKeyFor: (d) => orgKeys.get(d) ?? null, onEvent: (e) => events.push(e) });
  // the test closes the clients while late receipts may still be in receive(): its ack then
  // fails with 'offline', which is not what this test checks (its assertions read the state)
  client.onEvent((e) => { if (e.event === 'inbox') void engine.receive([e.entry]).catch(() => undefined); });
  await engine.sync();
  await engine.replenishKeyPackages(3);
  return { engine, client, events };
}

const textsOf = async (d: Dev, conv: string) => (await d.engine.messages(conv)).filter((m) => m.payload).map((m) => m.payload!.text);

beforeAll(async () => {
  [acme, globex] = await startPartners('acme.example', 'globex.example');
  await globex.admin(['contacts', 'add', 'sales', '--name', 'Sales', '--member', 'gina', '--member', 'glen']);
  for (const g of [acme, globex]) orgKeys.set(g.domain, (await fetchManifest(g.domain, { baseUrl: g.url })).orgPublicKey);
});
afterAll(async () => Promise.all([acme?.stop(), globex?.stop()]));

describe('channel engine over two real gateways', () => {
  it('acme opens a private contact with globex sales; both sides read each other; gateways store no plaintext', async () => {
    const alice = await device(acme, 'alice', 'Alice Schmidt');
    const gina = await device(globex, 'gina', 'Gina Rossi');
    const glen = await device(globex, 'glen', 'Glen Park');

    const { conversationId: conv, added, rejected } = await alice.engine.startConversation([{ domain: 'globex.example', contact: 'sales' }]);
    expect(rejected).toEqual([]);
    expect(added.map((a) => a.displayName).sort()).toEqual(['Gina Rossi', 'Glen Park']);
    await waitFor(async () => (await gina.engine.conversation(conv)) && (await glen.engine.conversation(conv)));

    const secret = 'Offer 7731: 12.40 EUR per unit';
    await alice.engine.sendText(conv, secret);
    await waitFor(async () => (await textsOf(gina, conv)).includes(secret) && (await textsOf(glen, conv)).includes(secret));
    const seen = (await gina.engine.messages(conv)).find((m) => m.payload?.text === secret)!;
    expect(seen.sender).toMatchObject({ displayName: 'Alice Schmidt', orgDomain: 'acme.example' });

    await gina.engine.sendText(conv, 'Accepted, Gina');
    await waitFor(async () => (await textsOf(alice, conv)).includes('Accepted, Gina') && (await textsOf(glen, conv)).includes('Accepted, Gina'));
    expect(await textsOf(alice, conv)).toEqual([secret, 'Accepted, Gina']);

    // receipts travel back: the partner's devices acknowledged alice's message
    await waitFor(async () => (await alice.engine.messages(conv)).find((m) => m.payload?.text === secret)?.state === 'delivered');

    const views = await Promise.all([alice, gina, glen].map((d) => d.engine.conversation(conv)));
    expect(views.every((v) => v!.verified)).toBe(true);
    expect(new Set(views.map((v) => v!.fingerprint.digits)).size).toBe(1);

    for (const g of [acme, globex]) {
      for (const f of readdirSync(g.dataDir)) {
        const bytes = readFileSync(path.join(g.dataDir, f));
        expect(bytes.includes(Buffer.from('Offer 7731')), `${g.domain}/${f}`).toBe(false);
        expect(bytes.includes(Buffer.from('Accepted, Gina')), `${g.domain}/${f}`).toBe(false);
      }
    }
    for (const d of [alice, gina, glen]) d.client.close();
  });
});
