/**
 * Issue 15, item 3: a revocation both sides see. Alice revokes her second device from her
 * first with a statement signed by her identity key; the partner verifies it, shows the device
 * as removed, encrypts nothing more to it, and its membership sync never adds it back.
 * Or the admin revoked it: Bob's client asks Acme's gateway about the Acme devices of its
 * conversations and acts on the org-signed statement; a statement the answering gateway forged,
 * or one about a device it was not asked about, is ignored with a warning. (The gateway side:
 * test/gateway/org-revocation.test.ts.)
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryHub, makeDevice, makeOrg, orgKeys, texts, type TestDevice } from '../../support/hub';
import type { TestOrg } from '../../support/orgs';
import { Keystore, loadOrCreateIdentity, newMessageId } from '../../../src/background/channel';
import { signWithSignatureKey } from '../../../src/background/channel/mls';
import { REVOCATION_TYPE, signRevocation, type DeviceRevocation } from '../../../src/wire/identity';
import { sign } from '../../../src/wire/ed25519';

let hub: MemoryHub;
let acme: TestOrg;
let globex: TestOrg;
let keys: (d: string) => string | null;
let laptop: TestDevice;
let phone: TestDevice;
let bob: TestDevice;

beforeEach(async () => {
  hub = new MemoryHub();
  acme = await makeOrg('acme.example');
  globex = await makeOrg('globex.example');
  keys = orgKeys(acme, globex);
  laptop = await makeDevice(hub, acme, 'alice', 'Alice Schmidt', keys); // created Alice's identity
  phone = await makeDevice(hub, acme, 'alice', 'Alice Schmidt', keys); // linked to it
  bob = await makeDevice(hub, globex, 'bob', 'Bob Meyer', keys);
  hub.contacts.set('acme.example/sales', ['alice']);
});

describe('signed revocation (issue 15: 3)', () => {
  it('the partner removes the revoked device, shows it as removed, sends it nothing more and does not add it again', async () => {
    const { conversationId: conv, added } = await bob.engine.startConversation([{ domain: 'acme.example', contact: 'sales' }]);
    expect(added.map((a) => a.address).sort()).toEqual([laptop.address, phone.address].sort());
    await laptop.engine.sync();
    await phone.engine.sync();

    expect(await laptop.engine.revokeOwnDevice(phone.cert.deviceId)).toEqual({ conversations: [conv] });
    await bob.engine.sync();
    const view = (await bob.engine.conversation(conv))!;
    expect(view.members.map((m) => m.address).sort()).toEqual([bob.address, laptop.address].sort());
    const removed = (await bob.engine.messages(conv)).filter(
      (m) => m.event?.kind === 'removed' && m.event.detail === 'revoked_by_identity',
    );
    expect(removed.map((m) => [m.sender.address, m.event!.who[0]!.address])).toEqual([[laptop.address, phone.address]]);

    await bob.engine.sendText(conv, 'after the revocation');
    await laptop.engine.sync();
    await phone.engine.sync();
    expect(await texts(laptop, conv)).toEqual(['after the revocation']);
    expect(await texts(phone, conv)).toEqual([]);

    // the in-memory hub still hands out the phone's key packages, as a gateway that ignores the revocation would
    const again = await bob.engine.addMembers(conv, [{ domain: 'acme.example', contact: 'sales' }]);
    expect(again.added).toEqual([]);
    expect((await bob.engine.conversation(conv))!.members.map((m) => m.address)).not.toContain(phone.address);
  });

  it('only a device holding the identity key can revoke; a statement signed by another key is ignored and the device stays', async () => {
    const { conversationId: conv } = await bob.engine.startConversation([{ domain: 'acme.example', contact: 'sales' }]);
    await laptop.engine.sync();
    await phone.engine.sync();
    // the phone is a linked test device: its own employee key is not Alice's identity key
    await expect(phone.engine.revokeOwnDevice(laptop.cert.deviceId)).rejects.toMatchObject({ code: 'not_enrolled' });
    // a member's client that signs a statement with a key that is not the identity's anyway
    const ks = await Keystore.open(phone.db);
    const own = (await loadOrCreateIdentity(phone.db, ks)).employeeKey!;
    const statement = await signRevocation(
      {
        type: REVOCATION_TYPE,
        v: 1,
        employeeId: 'alice',
        orgDomain: 'acme.example',
        deviceId: laptop.cert.deviceId,
        issuedBy: 'identity',
        revokedAt: new Date().toISOString(),
      },
      (d) => signWithSignatureKey(own.signKey, d),
    );
    const send = (phone.engine as unknown as { queue(c: string, p: unknown, shown: boolean): Promise<void> }).queue.bind(phone.engine);
    await send(conv, { v: 1, type: 'revocation', id: newMessageId(), statement, sentAt: new Date().toISOString() }, false);
    await bob.engine.sync();
    expect((await bob.engine.conversation(conv))!.members.map((m) => m.address)).toContain(laptop.address);
    expect(bob.events.some((e) => e.type === 'warning' && /does not verify/.test(e.error.message))).toBe(true);
  });
});

const statement = (by: TestOrg, deviceId: string, orgDomain = 'acme.example'): Promise<DeviceRevocation> =>
  signRevocation(
    { type: REVOCATION_TYPE, v: 1, employeeId: 'alice', orgDomain, deviceId, issuedBy: 'org', revokedAt: new Date().toISOString() },
    (d) => sign(by.key.privateKey, d),
  );

async function open(): Promise<string> {
  const { conversationId } = await bob.engine.startConversation([{ domain: 'acme.example', contact: 'sales' }]);
  await laptop.engine.sync();
  await phone.engine.sync();
  return conversationId;
}

const removedEvents = async (d: TestDevice, conv: string) =>
  (await d.engine.messages(conv))
    .filter((m) => m.event?.kind === 'removed' && m.event.detail === 'revoked_by_org')
    .map((m) => m.event!.who[0]!.address);

describe('org-signed revocation from the gateways (issue 15: 1)', () => {
  it('the partner verifies the org statement, removes the device, relays why, and encrypts nothing more to it', async () => {
    const conv = await open();
    hub.revocationList.push(await statement(acme, phone.cert.deviceId));
    // a gateway that refuses the query does not make the check fail: it is asked again next time
    hub.revocationsRefused.add('acme.example');
    expect(await bob.engine.checkRevocations()).toEqual({ removed: [] });
    hub.revocationsRefused.clear();
    expect(await bob.engine.checkRevocations()).toEqual({ removed: [phone.address] });
    expect((await bob.engine.conversation(conv))!.members.map((m) => m.address).sort()).toEqual([bob.address, laptop.address].sort());
    expect(await removedEvents(bob, conv)).toEqual([phone.address]);
    // Alice's laptop learns it from Bob's relay: shown once, though its own check finds it too
    await laptop.engine.sync();
    expect(await removedEvents(laptop, conv)).toEqual([phone.address]);
    expect(await laptop.engine.checkRevocations()).toEqual({ removed: [] });
    expect(await removedEvents(laptop, conv)).toEqual([phone.address]);

    await bob.engine.sendText(conv, 'after the admin revoked the phone');
    await laptop.engine.sync();
    await phone.engine.sync();
    expect(await texts(laptop, conv)).toEqual(['after the admin revoked the phone']);
    expect(await texts(phone, conv)).toEqual([]);
    // the in-memory hub still hands out the phone's key packages: never added again
    expect((await bob.engine.addMembers(conv, [{ domain: 'acme.example', contact: 'sales' }])).added).toEqual([]);
  });

  it("a statement not signed by the domain's pinned org key, or about a device not asked for, is ignored with a warning", async () => {
    const conv = await open();
    hub.revocationList.push(await statement(globex, phone.cert.deviceId)); // another org's key, Acme's name
    hub.revocationList.push(await statement(acme, 'd00000000000000ff')); // genuine, but nobody asked about it
    expect(await bob.engine.checkRevocations()).toEqual({ removed: [] });
    expect((await bob.engine.conversation(conv))!.members.map((m) => m.address)).toContain(phone.address);
    expect(bob.events.filter((e) => e.type === 'warning').map((e) => (e as { error: Error }).error.message)).toEqual([
      `a revocation of ${phone.address} does not verify; ignored`,
      'a revocation of d00000000000000ff@acme.example was not asked of acme.example; ignored',
    ]);
    expect(await removedEvents(bob, conv)).toEqual([]);
  });
});
