/**
 * Issue 15: revocation both sides see, with the real engine over two real gateway processes.
 * Acme's admin revokes a device (`devices revoke`) or deprovisions an employee (`devices
 * revoke --employee`); Acme's gateway answers with statements signed by its org key, to its
 * own devices and, through federation, to Globex's gateway; each side's client verifies them
 * with the pinned key, removes the device, and shows "revoked by the admin".
 */
import { describe, expect, it } from 'vitest';
import { engineDevice, textsOf, type EngineDevice, partnerSuite } from './engine-device';
import { waitFor } from '../support/poll';
import { REVOCATION_TYPE, signRevocation, verifyRevocation } from '../../src/wire/identity';
import { generateKeyPair, sign } from '../../src/wire/ed25519';

const net = partnerSuite(['alice', 'bob']);

const revokedByOrg = async (d: EngineDevice, conv: string) =>
  (await d.engine.messages(conv))
    .filter((m) => m.event?.kind === 'removed' && m.event.detail === 'revoked_by_org')
    .map((m) => m.event!.who[0]!.address);
const memberAddresses = async (d: EngineDevice, conv: string) =>
  ((await d.engine.conversation(conv))?.members ?? []).map((m) => m.address).sort();
const deviceId = (d: EngineDevice) => d.address.split('@')[0]!;

describe('org-signed revocation (issue 15: 1)', () => {
  it('the partner learns a revocation through federation, removes the device and shows why; the revoked device reads nothing after', async () => {
    const { acme, globex, orgKeys } = net;
    const alice = await engineDevice(acme, 'alice', 'Alice Schmidt', orgKeys);
    const bob = await engineDevice(acme, 'bob', 'Bob Weber', orgKeys);
    const gina = await engineDevice(globex, 'gina', 'Gina Rossi', orgKeys);
    // Alice's second browser: enrolled by admin code (no linking yet), held, then accepted by Gina
    const second = await engineDevice(acme, 'alice', 'Alice Schmidt', orgKeys, { orgOnly: true });
    const { conversationId: conv } = await gina.engine.startConversation([{ domain: 'acme.example', contact: 'sales' }]);
    expect((await gina.engine.held(conv)).map((h) => h.address)).toEqual([second.address]);
    await gina.engine.acceptHeld(conv, second.address);
    for (const d of [alice, bob, second])
      await waitFor(
        () => d.engine.conversation(conv),
        (c) => c !== null,
        20_000,
        'joined',
      );
    expect(await memberAddresses(gina, conv)).toEqual([alice.address, bob.address, gina.address, second.address].sort());

    await acme.admin(['devices', 'revoke', deviceId(second)]);
    expect(await gina.engine.checkRevocations()).toEqual({ removed: [second.address] });
    expect(await memberAddresses(gina, conv)).toEqual([alice.address, bob.address, gina.address].sort());
    expect(await revokedByOrg(gina, conv)).toEqual([second.address]);
    // Acme's members see it from Gina's relay, once
    await waitFor(
      () => revokedByOrg(alice, conv),
      (r) => r.length === 1,
      20_000,
      'alice sees the revocation',
    );
    expect(await revokedByOrg(alice, conv)).toEqual([second.address]);
    await waitFor(
      () => memberAddresses(alice, conv),
      (m) => m.length === 3,
      20_000,
      'alice takes in the removal',
    );
    expect(await memberAddresses(alice, conv)).toEqual([alice.address, bob.address, gina.address].sort());

    await gina.engine.sendText(conv, 'after the admin revoked the second browser');
    await waitFor(
      () => textsOf(alice, conv),
      (t) => t.includes('after the admin revoked the second browser'),
      20_000,
      'alice reads',
    );
    expect(await textsOf(second, conv)).not.toContain('after the admin revoked the second browser');
    for (const d of [alice, bob, gina, second]) d.client.close();
  });

  it("deprovisioning an employee: the own colleague's client learns it from the own gateway and removes every device", async () => {
    const { acme, orgKeys } = net;
    const hank = await engineDevice(acme, 'hank', 'Hank Brandt', orgKeys);
    const carol = await engineDevice(acme, 'carol', 'Carol Lang', orgKeys);
    const carol2 = await engineDevice(acme, 'carol', 'Carol Lang', orgKeys, { orgOnly: true });
    const { conversationId: conv } = await hank.engine.startConversation([{ domain: 'acme.example', employee: 'carol' }]);
    await hank.engine.acceptHeld(conv, carol2.address);
    await waitFor(
      () => carol.engine.conversation(conv),
      (c) => c !== null,
      20_000,
      'carol joined',
    );
    expect(await memberAddresses(hank, conv)).toEqual([hank.address, carol.address, carol2.address].sort());

    const out = await acme.admin(['devices', 'revoke', '--employee', 'carol', '--json']);
    expect(JSON.parse(out).revoked.sort()).toEqual([deviceId(carol), deviceId(carol2)].sort());
    expect((await hank.engine.checkRevocations()).removed.sort()).toEqual([carol.address, carol2.address].sort());
    expect(await memberAddresses(hank, conv)).toEqual([hank.address]);
    expect((await revokedByOrg(hank, conv)).sort()).toEqual([carol.address, carol2.address].sort());
    for (const d of [hank, carol, carol2]) d.client.close();
  });

  it("the gateway's answer is a statement signed by the org key, only about the devices asked for", async () => {
    const { acme, globex, orgKeys } = net;
    const dave = await engineDevice(acme, 'dave', 'Dave Kim', orgKeys);
    const erin = await engineDevice(acme, 'erin', 'Erin Wolf', orgKeys);
    const ivy = await engineDevice(globex, 'ivy', 'Ivy Chen', orgKeys);
    await acme.admin(['devices', 'revoke', deviceId(dave)]);
    await acme.admin(['devices', 'revoke', deviceId(erin)]);
    const { revocations } = await ivy.client.call('revocations.check', {
      domain: 'acme.example',
      devices: [deviceId(dave), 'dunknown00000000'],
    });
    expect(revocations).toMatchObject([{ deviceId: deviceId(dave), employeeId: 'dave', orgDomain: 'acme.example', issuedBy: 'org' }]);
    expect(await verifyRevocation(revocations[0]!, { identityKey: null, orgKey: orgKeys.get('acme.example')! })).toBe(true);
    expect(await verifyRevocation(revocations[0]!, { identityKey: null, orgKey: orgKeys.get('globex.example')! })).toBe(false);
    // asked again: the same bytes (the statement is derived from the device row, Ed25519 is deterministic)
    const again = await ivy.client.call('revocations.check', { domain: 'acme.example', devices: [deviceId(dave)] });
    expect(again.revocations).toEqual(revocations);
    await expect(
      ivy.client.call('revocations.check', { domain: 'acme.example', devices: Array.from({ length: 101 }, (_, i) => `d${i}`) }),
    ).rejects.toMatchObject({ code: 'bad_request' });
    for (const d of [dave, erin, ivy]) d.client.close();
  });

  it('a device revokes a sibling with the identity-signed statement; another employee, a forged signature, or no identity is refused', async () => {
    const { acme, orgKeys } = net;
    const kate = await engineDevice(acme, 'kate', 'Kate Roth', orgKeys);
    const kate2 = await engineDevice(acme, 'kate', 'Kate Roth', orgKeys, { orgOnly: true });
    const leo = await engineDevice(acme, 'leo', 'Leo Hahn', orgKeys);
    const forged = async (employeeId: string, target: EngineDevice) => {
      const key = await generateKeyPair(true);
      return signRevocation(
        {
          type: REVOCATION_TYPE,
          v: 1,
          employeeId,
          orgDomain: 'acme.example',
          deviceId: deviceId(target),
          issuedBy: 'identity',
          revokedAt: new Date().toISOString(),
        },
        (d) => sign(key.privateKey, d),
      );
    };
    // another employee's device, whichever employee the statement names
    await expect(leo.client.call('devices.revoke', { statement: await forged('leo', kate2) })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(leo.client.call('devices.revoke', { statement: await forged('kate', kate2) })).rejects.toMatchObject({
      code: 'forbidden',
    });
    // the org-only sibling holds no identity key: a statement signed by any other key is refused
    await expect(kate2.client.call('devices.revoke', { statement: await forged('kate', kate) })).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(kate2.engine.revokeOwnDevice(deviceId(kate))).rejects.toMatchObject({ code: 'not_enrolled' });
    expect((await acme.admin(['devices', 'list', '--employee', 'kate', '--json'])).includes('"revoked":true')).toBe(false);

    await kate.engine.revokeOwnDevice(deviceId(kate2), (statement) => kate.client.call('devices.revoke', { statement }));
    const list = JSON.parse(await acme.admin(['devices', 'list', '--employee', 'kate', '--all', '--json'])) as {
      deviceId: string;
      revoked: boolean;
    }[];
    expect(list.find((d) => d.deviceId === deviceId(kate2))?.revoked).toBe(true);
    // the statement handed out is the employee's own, not one the gateway made
    const { revocations } = await leo.client.call('revocations.check', { domain: 'acme.example', devices: [deviceId(kate2)] });
    expect(revocations).toMatchObject([{ deviceId: deviceId(kate2), issuedBy: 'identity', employeeId: 'kate' }]);
    for (const d of [kate, kate2, leo]) d.client.close();
  });
});
