/**
 * Issue 15, THE GHOST-DEVICE TEST: the operator of Acme's own gateway holds Acme's org key and
 * enrolls a second "Alice Schmidt" device with it alone. Globex's client, in its routine
 * membership sync of a conversation with Acme's sales contact, must not add the ghost, must
 * say so in the conversation, and the ghost must read nothing. Real MLS engine, two real
 * gateway processes, federation on loopback.
 */
import { describe, expect, it } from 'vitest';
import { engineDevice, textsOf, partnerSuite } from './engine-device';
import { waitFor } from '../support/poll';

const net = partnerSuite(['alice']);

describe('no silent reader (issue 15: 2)', () => {
  it("a device enrolled with Acme's org key alone is not added by the partner's membership sync, is shown, and reads nothing", async () => {
    const { acme, globex, orgKeys } = net;
    const alice = await engineDevice(acme, 'alice', 'Alice Schmidt', orgKeys);
    const gina = await engineDevice(globex, 'gina', 'Gina Rossi', orgKeys);
    const { conversationId: conv, added } = await gina.engine.startConversation([{ domain: 'acme.example', contact: 'sales' }]);
    expect(added.map((a) => a.address)).toEqual([alice.address]);
    await waitFor(
      () => alice.engine.conversation(conv),
      (c) => c !== null,
      20_000,
      'alice joined',
    );

    // the operator's ghost: a real enrollment code, the org's certificate, no identity of Alice's
    const ghost = await engineDevice(acme, 'alice', 'Alice Schmidt', orgKeys, { orgOnly: true });
    // Globex's routine membership sync (members.ts syncMembers claims the contact the same way)
    const sync = await gina.engine.addMembers(conv, [{ domain: 'acme.example', contact: 'sales' }]);
    expect(sync.added).toEqual([]);
    expect(sync.held.map((h) => [h.address, h.reason])).toEqual([[ghost.address, 'org_only']]);

    const view = (await gina.engine.conversation(conv))!;
    expect(view.members.map((m) => m.address).sort()).toEqual([alice.address, gina.address].sort());
    expect(view.held).toMatchObject([
      { address: ghost.address, reason: 'org_only', person: { displayName: 'Alice Schmidt', orgDomain: 'acme.example' } },
    ]);
    const notice = (await gina.engine.messages(conv)).filter((m) => m.event?.kind === 'held');
    expect(notice.map((m) => [m.event!.who[0]!.displayName, m.event!.detail])).toEqual([['Alice Schmidt', 'org_only']]);

    await gina.engine.sendText(conv, 'confidential: our floor price is 41.20');
    await waitFor(
      () => textsOf(alice, conv),
      (t) => t.includes('confidential: our floor price is 41.20'),
      20_000,
      'alice reads',
    );
    await ghost.engine.sync();
    expect(await ghost.engine.conversation(conv)).toBeNull();
    expect(await ghost.engine.conversations()).toEqual([]);
    for (const d of [alice, gina, ghost]) d.client.close();
  });
});
