/**
 * Issue 15, item 2: membership sync never adds a device that does not chain to an identity the
 * conversation knows. Real MLS engine over the in-memory hub; the "gateway" is the test making
 * certificates with the org key alone.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryHub, makeDevice, makeOrg, orgKeys, texts, type TestDevice } from '../../support/hub';
import type { TestOrg } from '../../support/orgs';

let hub: MemoryHub;
let acme: TestOrg;
let globex: TestOrg;
let keys: (d: string) => string | null;
let alice: TestDevice;
let bob: TestDevice;

beforeEach(async () => {
  hub = new MemoryHub();
  acme = await makeOrg('acme.example');
  globex = await makeOrg('globex.example');
  keys = orgKeys(acme, globex);
  alice = await makeDevice(hub, acme, 'alice', 'Alice Schmidt', keys);
  bob = await makeDevice(hub, globex, 'bob', 'Bob Meyer', keys);
  hub.contacts.set('globex.example/sales', ['bob']);
});

const heldEvents = async (d: TestDevice, conv: string) =>
  (await d.engine.messages(conv)).filter((m) => m.event?.kind === 'held').map((m) => [m.event!.who[0]!.displayName, m.event!.detail]);

describe('no silent additions (issue 15: 2)', () => {
  it('a device of a known employee certified by the org alone is held, shown with its reason, reads nothing, and joins only when accepted', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', contact: 'sales' }]);
    await bob.engine.sync();
    const ghost = await makeDevice(hub, globex, 'bob', 'Bob Meyer', keys, 3, undefined, 'org-only');

    const r = await alice.engine.addMembers(conv, [{ domain: 'globex.example', contact: 'sales' }]);
    expect(r.added).toEqual([]);
    expect(r.held.map((h) => [h.address, h.reason])).toEqual([[ghost.address, 'org_only']]);
    const view = (await alice.engine.conversation(conv))!;
    expect(view.members.map((m) => m.address).sort()).toEqual([alice.address, bob.address].sort());
    expect(view.held).toMatchObject([{ address: ghost.address, reason: 'org_only', identityKey: null }]);
    expect(await heldEvents(alice, conv)).toEqual([['Bob Meyer', 'org_only']]);
    // the next routine sync holds it again without repeating the notice
    await alice.engine.addMembers(conv, [{ domain: 'globex.example', contact: 'sales' }]);
    expect(await heldEvents(alice, conv)).toHaveLength(1);

    await alice.engine.sendText(conv, 'confidential: our floor price is 41.20');
    await ghost.engine.sync();
    await bob.engine.sync();
    expect(await ghost.engine.conversation(conv)).toBeNull();
    expect(await texts(bob, conv)).toEqual(['confidential: our floor price is 41.20']);

    const accepted = await alice.engine.acceptHeld(conv, ghost.address);
    expect(accepted.added.map((a) => a.address)).toEqual([ghost.address]);
    expect((await alice.engine.conversation(conv))!.held).toEqual([]);
    await alice.engine.sendText(conv, 'after acceptance');
    await ghost.engine.sync();
    expect(await texts(ghost, conv)).toEqual(['after acceptance']);
    // the other members are told that a device they would have held was added
    await bob.engine.sync();
    const told = (await bob.engine.messages(conv)).filter((m) => m.event?.kind === 'added_unlinked');
    expect(told.map((m) => [m.sender.address, m.event!.who[0]!.address, m.event!.detail])).toEqual([
      [alice.address, ghost.address, 'org_only'],
    ]);
  });

  it('a device chaining to a new identity key for a known employee is held as identity_changed', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', contact: 'sales' }]);
    const minted = await makeDevice(hub, globex, 'bob', 'Bob Meyer', keys, 3, undefined, 'new-identity');
    const r = await alice.engine.addMembers(conv, [{ domain: 'globex.example', contact: 'sales' }]);
    expect(r.added).toEqual([]);
    expect(r.held.map((h) => [h.address, h.reason])).toEqual([[minted.address, 'identity_changed']]);
    expect(await heldEvents(alice, conv)).toEqual([['Bob Meyer', 'identity_changed']]);
  });

  it('the identity stays known after all of its devices left: a new identity is still held', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', contact: 'sales' }]);
    await alice.engine.removeDevices(conv, [bob.address]);
    await makeDevice(hub, globex, 'bob', 'Bob Meyer', keys, 3, undefined, 'new-identity');
    const r = await alice.engine.addMembers(conv, [{ domain: 'globex.example', contact: 'sales' }]);
    expect(r.held.map((h) => h.reason)).toEqual(['identity_changed']);
  });

  it('a device linked to a known identity, and a new colleague with an identity, join on their own', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', contact: 'sales' }]);
    const laptop = await makeDevice(hub, globex, 'bob', 'Bob Meyer', keys); // endorsed by bob's identity key
    const carol = await makeDevice(hub, globex, 'carol', 'Carol Wu', keys);
    hub.contacts.set('globex.example/sales', ['bob', 'carol']);
    const r = await alice.engine.addMembers(conv, [{ domain: 'globex.example', contact: 'sales' }]);
    expect(r.held).toEqual([]);
    expect(r.added.map((a) => a.address).sort()).toEqual([laptop.address, carol.address].sort());
  });

  it('a new conversation does not add an org-only device either', async () => {
    const ghost = await makeDevice(hub, globex, 'dave', 'Dave', keys, 3, undefined, 'org-only');
    hub.contacts.set('globex.example/sales', ['bob', 'dave']);
    const r = await alice.engine.startConversation([{ domain: 'globex.example', contact: 'sales' }]);
    expect(r.added.map((a) => a.address)).toEqual([bob.address]);
    expect(r.held.map((h) => [h.address, h.reason])).toEqual([[ghost.address, 'org_only']]);
  });
});
