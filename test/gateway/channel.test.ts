/**
 * The channel engine (src/background/channel) end to end against two real gateway processes:
 * enrollment with the engine's own keys, key packages through federation, MLS conversation
 * across orgs, receipts, and no plaintext in the gateways' data files.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startPartners, type GatewayHandle } from './helpers';
import { engineDevice, textsOf } from './engine-device';
import { waitFor } from '../support/poll';
import { fetchManifest } from '../../src/wire/client';

let acme: GatewayHandle;
let globex: GatewayHandle;
const orgKeys = new Map<string, string>();

const device = (gw: GatewayHandle, employee: string, name: string) => engineDevice(gw, employee, name, orgKeys);

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

    const {
      conversationId: conv,
      added,
      rejected,
    } = await alice.engine.startConversation([{ domain: 'globex.example', contact: 'sales' }]);
    expect(rejected).toEqual([]);
    expect(added.map((a) => a.displayName).sort()).toEqual(['Gina Rossi', 'Glen Park']);
    await waitFor(async () => (await gina.engine.conversation(conv)) && (await glen.engine.conversation(conv)));

    const secret = 'Offer 7731: 12.40 EUR per unit';
    await alice.engine.sendText(conv, secret);
    await waitFor(async () => (await textsOf(gina, conv)).includes(secret) && (await textsOf(glen, conv)).includes(secret));
    const seen = (await gina.engine.messages(conv)).find((m) => m.payload?.text === secret)!;
    expect(seen.sender).toMatchObject({ displayName: 'Alice Schmidt', orgDomain: 'acme.example' });

    await gina.engine.sendText(conv, 'Accepted, Gina');
    await waitFor(
      async () => (await textsOf(alice, conv)).includes('Accepted, Gina') && (await textsOf(glen, conv)).includes('Accepted, Gina'),
    );
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
