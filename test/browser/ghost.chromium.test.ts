/**
 * Issue 15, the ghost device in the side panel: Globex's operator enrolls a second "Gina
 * Rossi" device with the org key alone. Alice's membership sync does not add it; her side
 * panel says so in the conversation and lists it as waiting, with an Accept button.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineDevice, type EngineDevice } from '../gateway/engine-device';
import { aliceAndGina } from '../support/channel';
import { fetchManifest } from '../../src/wire/client';

let net: Awaited<ReturnType<typeof aliceAndGina>>;
let ghost: EngineDevice | undefined;

beforeAll(async () => {
  net = await aliceAndGina();
}, 240_000);

afterAll(async () => {
  ghost?.client.close();
  await net?.close();
});

describe('ghost device (issue 15: 2)', () => {
  it("a device Globex's gateway enrolled with the org key alone is held and shown in Alice's side panel", async () => {
    const { acme, globex, alice } = net;
    const { conversationId } = await alice.ask('channel.start', { domain: 'globex.example', contact: 'sales' });
    const orgKeys = new Map<string, string>();
    for (const g of [acme, globex]) orgKeys.set(g.domain, (await fetchManifest(g.domain, { baseUrl: g.url })).orgPublicKey);
    ghost = await engineDevice(globex, 'gina', 'Gina Rossi', orgKeys, { orgOnly: true });

    expect(await alice.ask('channel.syncMembers', { conversationId })).toEqual({ added: 0, removed: 0 });
    const view = await alice.ask('channel.view', { conversationId });
    expect(view.members.map((m) => m.displayName).sort()).toEqual(['Alice Schmidt', 'Gina Rossi']);
    expect(view.held).toMatchObject([{ displayName: 'Gina Rossi', orgDomain: 'globex.example', reason: 'org_only' }]);

    await alice.panel.reload();
    await alice.panel.getByTestId('conversation-item').click();
    const notice = alice.panel.getByTestId('event-held');
    await expect.poll(() => notice.textContent(), { timeout: 30_000 }).toContain("added by globex.example's gateway only");
    expect(await notice.getAttribute('role')).toBe('alert');
    expect(await alice.panel.getByTestId('held-device').getAttribute('data-reason')).toBe('org_only');
    expect(await alice.panel.getByTestId('accept-device').getAttribute('aria-label')).toContain('Gina Rossi');

    await alice.ask('channel.send', { conversationId, text: 'confidential: our floor price is 41.20' });
    await ghost.engine.sync();
    expect(await ghost.engine.conversations()).toEqual([]);
  });
});
