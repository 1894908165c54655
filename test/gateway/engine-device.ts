/**
 * A device running the real channel engine (src/background/channel) against a real gateway:
 * its own keys in fake IndexedDB, enrolled with a one-time code, connected, with key packages
 * uploaded. By default it also creates the employee identity (issue 15); `orgOnly` enrolls it
 * without one, as a gateway operator holding only the org key would.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { startPartners, type GatewayHandle } from './helpers';
import { enroll, fetchManifest, KontorClient } from '../../src/wire/client';
import { toBase64 } from '../../src/wire/bytes';
import {
  ChannelEngine,
  Keystore,
  gatewayTransport,
  loadOrCreateIdentity,
  openChannelDb,
  saveCertificate,
  type ChannelEvent,
} from '../../src/background/channel';
import { signWithSignatureKey } from '../../src/background/channel/mls';

export interface EngineDevice {
  engine: ChannelEngine;
  client: KontorClient;
  events: ChannelEvent[];
  address: string;
}

export async function engineDevice(
  gw: GatewayHandle,
  employee: string,
  name: string,
  orgKeys: Map<string, string>,
  o: { orgOnly?: boolean } = {},
): Promise<EngineDevice> {
  const db = await openChannelDb(`gw-channel-${employee}-${Math.random()}`);
  const ks = await Keystore.open(db);
  const id = await loadOrCreateIdentity(db, ks);
  const code = await gw.enroll(employee, name);
  const employeeKey = id.employeeKey!;
  const { certificate, identity } = await enroll({
    gatewayUrl: gw.url,
    domain: gw.domain,
    code,
    mlsSignatureKey: id.mlsSignaturePublicB64,
    signWithMlsKey: (d) => signWithSignatureKey(id.mlsSignature.signKey, d),
    deviceKey: id.deviceKey,
    orgPublicKey: orgKeys.get(gw.domain),
    ...(o.orgOnly
      ? {}
      : {
          identity: {
            publicKeyB64: toBase64(employeeKey.publicKey),
            sign: (d: Uint8Array) => signWithSignatureKey(employeeKey.signKey, d),
          },
        }),
  });
  await saveCertificate(db, certificate, identity);
  const client = await KontorClient.connect({
    gatewayUrl: gw.url,
    certificate,
    deviceKey: id.deviceKey.privateKey,
    WebSocket: WebSocket as never,
  });
  const events: ChannelEvent[] = [];
  const engine = await ChannelEngine.open({
    db,
    transport: gatewayTransport(client),
    orgKeyFor: (d) => orgKeys.get(d) ?? null,
    onEvent: (e) => events.push(e),
  });
  // the test closes the clients while late receipts may still be in receive(): its ack then
  // fails with 'offline', which is not what the tests check (their assertions read the state)
  client.onEvent((e) => {
    if (e.event === 'inbox') void engine.receive([e.entry]).catch(() => undefined);
  });
  await engine.sync();
  await engine.replenishKeyPackages(3);
  return { engine, client, events, address: `${certificate.deviceId}@${gw.domain}` };
}

export const textsOf = async (d: EngineDevice, conv: string) =>
  (await d.engine.messages(conv)).filter((m) => m.payload).map((m) => m.payload!.text);

/** Acme and Globex gateways admitted to each other, Acme's `sales` contact with `salesMembers`, and both org keys as clients pin them. */
export async function acmeAndGlobex(
  salesMembers: string[],
): Promise<{ acme: GatewayHandle; globex: GatewayHandle; orgKeys: Map<string, string> }> {
  const [acme, globex] = await startPartners('acme.example', 'globex.example');
  await acme.admin(['contacts', 'add', 'sales', '--name', 'Sales', ...salesMembers.flatMap((m) => ['--member', m])]);
  const orgKeys = new Map<string, string>();
  for (const g of [acme, globex]) orgKeys.set(g.domain, (await fetchManifest(g.domain, { baseUrl: g.url })).orgPublicKey);
  return { acme, globex, orgKeys };
}

/** Starts Acme and Globex (acmeAndGlobex) before the suite and stops them after; read the fields inside the tests. */
export function partnerSuite(salesMembers: string[]): Awaited<ReturnType<typeof acmeAndGlobex>> {
  const net = {} as Awaited<ReturnType<typeof acmeAndGlobex>>;
  beforeAll(async () => Object.assign(net, await acmeAndGlobex(salesMembers)));
  afterAll(async () => Promise.all([net.acme?.stop(), net.globex?.stop()]));
  return net;
}
