import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, newDevice, b64, unb64, type GatewayHandle, type TestDevice } from './helpers';
import type { InboxEntry, PushEvent } from '../../src/wire/protocol';
import type { KontorError } from '../../src/wire/client';

let gw: GatewayHandle;
let alice: TestDevice;
let bob: TestDevice;
let bob2: TestDevice;
beforeAll(async () => {
  gw = await startGateway({ domain: 'acme.example' });
  [alice, bob, bob2] = await Promise.all([
    newDevice(gw, 'alice', 'Alice'),
    newDevice(gw, 'bob', 'Bob'),
    newDevice(gw, 'bob', 'Bob (laptop)'),
  ]);
  await gw.admin(['contacts', 'add', 'sales', '--name', 'Sales', '--member', 'bob']);
});
afterAll(async () => gw?.stop());

function nextEntry(d: TestDevice, pred: (e: InboxEntry) => boolean = () => true): Promise<InboxEntry> {
  return new Promise((resolve) => {
    const off = d.client.onEvent((e: PushEvent) => {
      if (e.event === 'inbox' && pred(e.entry)) {
        off();
        resolve(e.entry);
      }
    });
  });
}

describe('key packages and delivery on one gateway', () => {
  it('claims one package per device of a contact, one-time except the last-resort one', async () => {
    await bob.client.uploadKeyPackages([b64('bob-kp-1')], b64('bob-last-resort'));
    await bob2.client.uploadKeyPackages([b64('bob2-kp-1')]);
    expect(await bob.client.call('keyPackages.count')).toEqual({ available: 1, lastResort: true });
    const first = await alice.client.claimKeyPackages('acme.example', { contact: 'sales' });
    expect(first.devices.map((d) => [d.certificate.deviceId, unb64(d.keyPackage), d.lastResort]).sort()).toEqual(
      [
        [bob.certificate.deviceId, 'bob-kp-1', false],
        [bob2.certificate.deviceId, 'bob2-kp-1', false],
      ].sort(),
    );
    const second = await alice.client.claimKeyPackages('acme.example', { contact: 'sales' });
    expect(second.devices.map((d) => [unb64(d.keyPackage), d.lastResort])).toEqual([['bob-last-resort', true]]);
    const third = await alice.client.claimKeyPackages('acme.example', { employee: 'bob' });
    expect(third.devices.map((d) => unb64(d.keyPackage))).toEqual(['bob-last-resort']);
    await expect(alice.client.claimKeyPackages('acme.example', { contact: 'nobody' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('orders a conversation, accepts one commit per epoch, pushes live and is idempotent', async () => {
    expect(await alice.client.createConversation('conv-1')).toEqual({ hub: 'acme.example', created: true });
    const members = [alice.address, bob.address];
    const welcomeSeen = nextEntry(bob, (e) => e.kind === 'welcome');
    const c1 = await alice.client.send({
      conversationId: 'conv-1',
      messageId: 'm1',
      kind: 'commit',
      epoch: 0,
      payload: b64('commit-0'),
      members,
    });
    expect(c1).toEqual({ seq: 1, hub: 'acme.example', duplicate: false });
    await alice.client.send({
      conversationId: 'conv-1',
      messageId: 'm2',
      kind: 'welcome',
      epoch: 1,
      payload: b64('welcome'),
      recipients: [bob.address],
    });
    expect(unb64((await welcomeSeen).payload!)).toBe('welcome');

    // a second commit for epoch 0 loses: the client must process the winner and retry
    const lost = await bob.client
      .send({ conversationId: 'conv-1', messageId: 'b1', kind: 'commit', epoch: 0, payload: b64('late'), members })
      .catch((e: KontorError) => e);
    expect(lost).toMatchObject({ code: 'epoch_conflict', details: { currentEpoch: 1 } });
    // a retried commit is still a duplicate after its epoch moved on; another sender's reuse of its id is refused
    expect(
      await alice.client.send({ conversationId: 'conv-1', messageId: 'm1', kind: 'commit', epoch: 0, payload: b64('commit-0'), members }),
    ).toEqual({ ...c1, duplicate: true });
    await expect(
      bob.client.send({ conversationId: 'conv-1', messageId: 'm2', kind: 'application', epoch: 1, payload: b64('x') }),
    ).rejects.toMatchObject({ code: 'conflict' });

    const appSeen = nextEntry(bob, (e) => e.kind === 'application');
    const a1 = await alice.client.send({
      conversationId: 'conv-1',
      messageId: 'm3',
      kind: 'application',
      epoch: 1,
      payload: b64('hello bob'),
    });
    const again = await alice.client.send({
      conversationId: 'conv-1',
      messageId: 'm3',
      kind: 'application',
      epoch: 1,
      payload: b64('hello bob'),
    });
    expect(again).toEqual({ ...a1, duplicate: true });
    const e = await appSeen;
    expect(e).toMatchObject({ conversationId: 'conv-1', hub: 'acme.example', seq: 3, messageId: 'm3', sender: alice.address });
    // non-members and strangers are refused
    await expect(
      bob2.client.send({ conversationId: 'conv-1', messageId: 'x', kind: 'application', epoch: 1, payload: b64('x') }),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('keeps entries until acknowledged, serves them after reconnect and sends delivered receipts', async () => {
    bob.client.close();
    await alice.client.send({
      conversationId: 'conv-1',
      messageId: 'm4',
      kind: 'application',
      epoch: 1,
      payload: b64('while you were away'),
    });
    await bob.reconnect();
    const { entries } = await bob.client.fetchInbox();
    const texts = entries.filter((x) => x.kind === 'application').map((x) => unb64(x.payload!));
    expect(texts).toEqual(['hello bob', 'while you were away']);
    const receipt = nextEntry(alice, (x) => x.kind === 'receipt' && x.messageId === 'm4');
    // unknown and repeated ids are not counted
    expect(await bob.client.ack([...entries.map((x) => x.id), entries[0]!.id, 999_999])).toEqual({ acked: entries.length });
    expect((await bob.client.fetchInbox()).entries).toEqual([]);
    expect(await receipt).toMatchObject({
      receipt: { status: 'delivered', by: bob.address, messageIds: ['m1', 'm2', 'm3', 'm4'] },
      conversationId: 'conv-1',
      seq: 4,
    });
  });

  it('answers invalid RPCs with clear errors', async () => {
    await expect(alice.client.call('send', { conversationId: 'conv-1' } as never)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(alice.client.call('nope' as never)).rejects.toMatchObject({ code: 'not_found' });
    await expect(
      alice.client.send({ conversationId: 'conv-1', messageId: 'big', kind: 'application', epoch: 1, payload: 'A'.repeat(400_000) }),
    ).rejects.toMatchObject({ code: 'bad_request' });
  });
});
