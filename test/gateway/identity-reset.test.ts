/**
 * Issue 15: identity reset, with the real engine over two real gateway processes. Alice lost
 * every device; Acme's admin runs `reset-identity alice`: her old devices are revoked (signed
 * statements), and her next enrollment certifies a new identity key (before, the gateway
 * refused it with `conflict`). Globex's client does not add the new device on its own: it
 * holds it as `identity_changed`, warns, shows the old and the new identity fingerprint, and
 * lets it in only when Gina accepts; then the new identity is the known one.
 */
import { describe, expect, it } from 'vitest';
import { engineDevice, textsOf, partnerSuite } from './engine-device';
import { waitFor } from '../support/poll';
import { fingerprint } from '../../src/wire/manifest';

const net = partnerSuite(['alice']);

describe('identity reset (issue 15: 3)', () => {
  it('the admin resets Alice: old devices revoked, a new identity enrolls, the partner holds it with a warning until Gina accepts', async () => {
    const { acme, globex, orgKeys } = net;
    const alice = await engineDevice(acme, 'alice', 'Alice Schmidt', orgKeys);
    const gina = await engineDevice(globex, 'gina', 'Gina Rossi', orgKeys);
    const { conversationId: conv } = await gina.engine.startConversation([{ domain: 'acme.example', contact: 'sales' }]);
    await waitFor(
      () => alice.engine.conversation(conv),
      (c) => c !== null,
      20_000,
      'alice joined',
    );
    // without a reset, another identity key for Alice is refused
    await expect(engineDevice(acme, 'alice', 'Alice Schmidt', orgKeys)).rejects.toMatchObject({ code: 'conflict' });

    const out = JSON.parse(await acme.admin(['reset-identity', 'alice', '--json']));
    expect(out).toEqual({ reset: 'alice', revoked: [alice.address.split('@')[0]], announced: false });
    const fresh = await engineDevice(acme, 'alice', 'Alice Schmidt', orgKeys);

    expect(await gina.engine.checkRevocations()).toEqual({ removed: [alice.address] });
    const sync = await gina.engine.addMembers(conv, [{ domain: 'acme.example', contact: 'sales' }]);
    expect(sync.added).toEqual([]);
    expect(sync.held.map((h) => [h.address, h.reason])).toEqual([[fresh.address, 'identity_changed']]);
    const [held] = await gina.engine.held(conv);
    expect(held).toMatchObject({ address: fresh.address, reason: 'identity_changed' });
    expect(held!.previousFingerprint).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    expect(held!.identityFingerprint).toBe(await fingerprint(held!.identityKey!));
    expect(held!.previousFingerprint).not.toBe(held!.identityFingerprint);
    const warnings = (await gina.engine.messages(conv)).filter((m) => m.event?.kind === 'held');
    expect(warnings.map((m) => [m.event!.who[0]!.displayName, m.event!.detail])).toEqual([['Alice Schmidt', 'identity_changed']]);

    await gina.engine.sendText(conv, 'before Gina accepted the new device');
    await gina.engine.acceptHeld(conv, fresh.address);
    await gina.engine.sendText(conv, 'after Gina accepted the new device');
    await waitFor(
      () => textsOf(fresh, conv),
      (t) => t.includes('after Gina accepted the new device'),
      20_000,
      'the new device reads',
    );
    expect(await textsOf(fresh, conv)).toEqual(['after Gina accepted the new device']);
    // the new identity is now the known one: another of its devices would join without a hold
    expect(await gina.engine.held(conv)).toEqual([]);
    expect((await gina.engine.addMembers(conv, [{ domain: 'acme.example', contact: 'sales' }])).held).toEqual([]);
    for (const d of [alice, gina, fresh]) d.client.close();
  });
});
