import { describe, it, expect, beforeEach } from 'vitest';
import { MemoryHub, makeOrg, makeDevice, orgKeys, texts, type Org, type TestDevice } from '../../support/hub';
import { TransportError } from '../../../src/background/channel';
import { processIncoming, deserializeState, clientConfig } from '../../../src/background/channel/mls';
import { fromBase64 } from '../../../src/wire/bytes';

let hub: MemoryHub;
let acme: Org;
let globex: Org;
let keys: (d: string) => string | null;
let alice: TestDevice;
let bob1: TestDevice;
let bob2: TestDevice;

async function syncAll(...ds: TestDevice[]) {
  for (const d of ds) await d.engine.sync();
}

beforeEach(async () => {
  hub = new MemoryHub();
  acme = await makeOrg('acme.example');
  globex = await makeOrg('globex.example');
  keys = orgKeys(acme, globex);
  alice = await makeDevice(hub, acme, 'alice', 'Alice Schmidt', keys);
  bob1 = await makeDevice(hub, globex, 'bob', 'Bob Meyer', keys);
  bob2 = await makeDevice(hub, globex, 'carol', 'Carol Wu', keys);
  hub.contacts.set('globex.example/sales', ['bob', 'carol']);
});

describe('channel engine, two orgs over an in-memory hub', () => {
  it('acme starts a conversation with globex sales; messages decrypt both ways with sender name and org', async () => {
    const {
      conversationId: conv,
      added,
      rejected,
    } = await alice.engine.startConversation([{ domain: 'globex.example', contact: 'sales' }]);
    expect(rejected).toEqual([]);
    expect(added.map((a) => a.displayName).sort()).toEqual(['Bob Meyer', 'Carol Wu']);
    await syncAll(bob1, bob2);
    await alice.engine.sendText(conv, 'Hello Globex');
    await syncAll(bob1, bob2);
    expect(await texts(bob1, conv)).toEqual(['Hello Globex']);
    expect(await texts(bob2, conv)).toEqual(['Hello Globex']);
    const got = (await bob1.engine.messages(conv)).find((m) => m.payload?.type === 'text')!;
    expect(got.sender).toMatchObject({ displayName: 'Alice Schmidt', orgDomain: 'acme.example', address: alice.address });
    expect(got.direction).toBe('in');

    await bob2.engine.sendText(conv, 'Hi Alice, Carol here');
    await syncAll(alice, bob1);
    expect(await texts(alice, conv)).toEqual(['Hello Globex', 'Hi Alice, Carol here']);
    expect(await texts(bob1, conv)).toEqual(['Hello Globex', 'Hi Alice, Carol here']);
    expect((await alice.engine.messages(conv)).find((m) => m.payload?.text === 'Hi Alice, Carol here')!.sender.orgDomain).toBe(
      'globex.example',
    );

    // everyone sees the same membership, all verified, and the same safety fingerprint
    const views = await Promise.all([alice, bob1, bob2].map((d) => d.engine.conversation(conv)));
    expect(new Set(views.map((v) => v!.fingerprint.digits)).size).toBe(1);
    expect(views[0]!.fingerprint.digits).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(views.every((v) => v!.verified && v!.members.length === 3)).toBe(true);
    expect(views[0]!.partnerOrgs).toEqual(['globex.example']);
    // delivery receipts are not produced by the in-memory hub; the sender sees 'sent'
    expect((await alice.engine.messages(conv)).find((m) => m.payload?.text === 'Hello Globex')!.state).toBe('sent');
  });

  it('a device added later reads new messages only; a removed device reads nothing that follows', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await syncAll(bob1);
    await alice.engine.sendText(conv, 'before carol');
    const early = hub.log.filter((p) => p.kind === 'application').at(-1)!;
    await syncAll(bob1);

    await alice.engine.addMembers(conv, [{ domain: 'globex.example', employee: 'carol' }]);
    await syncAll(bob1, bob2);
    await alice.engine.sendText(conv, 'after carol');
    await syncAll(bob1, bob2);
    expect(await texts(bob2, conv)).toEqual(['after carol']);
    expect(await texts(bob1, conv)).toEqual(['before carol', 'after carol']);
    // even handed the earlier ciphertext, the late joiner cannot open it
    await bob2.engine.receive([
      {
        id: 9999,
        kind: 'application',
        conversationId: conv,
        hub: 'hub.example',
        seq: 1,
        messageId: early.messageId,
        epoch: early.epoch,
        sender: alice.address,
        payload: early.payload,
        receivedAt: 0,
      },
    ]);
    expect(await texts(bob2, conv)).toEqual(['after carol']);

    // bob1's device is revoked: removed from the group
    await alice.engine.removeDevices(conv, [bob1.address]);
    await syncAll(bob1, bob2);
    expect((await bob1.engine.conversation(conv))!.status).toBe('removed');
    await alice.engine.sendText(conv, 'secret after removal');
    const late = hub.log.filter((p) => p.kind === 'application').at(-1)!;
    await syncAll(bob1, bob2);
    expect(await texts(bob2, conv)).toEqual(['after carol', 'secret after removal']);
    expect(await texts(bob1, conv)).toEqual(['before carol', 'after carol']);
    // handed the ciphertext directly, the removed device's last state cannot decrypt it
    const rec = (await bob1.db.get('conversations', conv))!;
    const ks = await (await import('../../../src/background/channel/keystore')).Keystore.open(bob1.db);
    const st = deserializeState(
      await ks.open(rec.state, `conversation:${conv}:state`),
      clientConfig({ validateCredential: async () => true }),
    );
    await expect(processIncoming(st, fromBase64(late.payload))).rejects.toThrow();
    const aliceView = await alice.engine.conversation(conv);
    expect(aliceView!.members.map((m) => m.address).sort()).toEqual([alice.address, bob2.address].sort());
    const events = (await bob2.engine.messages(conv)).filter((m) => m.event).map((m) => m.event!.kind);
    expect(events).toEqual(['joined', 'removed']);
  });

  it('messages composed offline are queued (persisted) and sent on reconnect, in order', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await syncAll(bob1);
    hub.devices.get(alice.address)!.sendBlocked = true;
    const m1 = await alice.engine.sendText(conv, 'one');
    await alice.engine.sendText(conv, 'two');
    expect(m1.state).toBe('queued');
    expect((await alice.engine.conversation(conv))!.queued).toBe(2);
    await expect(alice.engine.flush()).rejects.toBeInstanceOf(TransportError);
    hub.devices.get(alice.address)!.sendBlocked = false;
    await alice.engine.flush();
    await syncAll(bob1);
    expect(await texts(bob1, conv)).toEqual(['one', 'two']);
    expect((await alice.engine.conversation(conv))!.queued).toBe(0);
  });

  it('a backlog taken in within one millisecond is shown in the order of the hub', async () => {
    // a clock that stands still: every message gets the same arrival time, as a burst fetched
    // after a restart can (the view's index then ordered ties by the random message id)
    const frozen = new Date();
    const dave = await makeDevice(hub, globex, 'dave', 'Dave Roth', keys, 3, () => frozen);
    hub.contacts.set('globex.example/purchasing', ['dave']);
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', contact: 'purchasing' }]);
    const burst = ['one', 'two', 'three', 'four', 'five', 'six'];
    for (const text of burst) await alice.engine.sendText(conv, text);
    await dave.engine.sync();
    expect(await texts(dave, conv)).toEqual(burst);
  });

  it('conflicting commits for the same epoch resolve by retry', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await syncAll(bob1);
    const alice2 = await makeDevice(hub, acme, 'alice', 'Alice Schmidt', keys);
    // bob composes a commit (adding carol) while his sends fail: it stays pending for epoch 1
    hub.devices.get(bob1.address)!.sendBlocked = true;
    await expect(bob1.engine.addMembers(conv, [{ domain: 'globex.example', employee: 'carol' }])).rejects.toBeInstanceOf(TransportError);
    // meanwhile alice's commit (adding her second device) wins epoch 1
    await alice.engine.addMembers(conv, [{ domain: 'acme.example', employee: 'alice' }]);
    hub.devices.get(bob1.address)!.sendBlocked = false;
    // bob reconnects: his commit is refused (epoch_conflict), he processes alice's and retries
    await bob1.engine.flush();
    await syncAll(alice, alice2, bob2);
    const views = await Promise.all([alice, alice2, bob1, bob2].map((d) => d.engine.conversation(conv)));
    expect(views.map((v) => v!.epoch)).toEqual([3, 3, 3, 3]);
    expect(new Set(views.map((v) => v!.fingerprint.digits)).size).toBe(1);
    expect(views[0]!.members).toHaveLength(4);
    const conflicts = hub.log.filter((p) => p.kind === 'commit').map((p) => p.epoch);
    expect(conflicts).toEqual([0, 1, 2]);
    await bob2.engine.sendText(conv, 'all here');
    await syncAll(alice, alice2, bob1);
    for (const d of [alice, alice2, bob1]) expect(await texts(d, conv)).toEqual(['all here']);
  });

  it('a pending commit that loses to an incoming commit is composed again on flush', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await syncAll(bob1);
    hub.devices.get(bob1.address)!.sendBlocked = true;
    await expect(bob1.engine.addMembers(conv, [{ domain: 'globex.example', employee: 'carol' }])).rejects.toBeInstanceOf(TransportError);
    await alice.engine.sendText(conv, 'epoch 1 message');
    await alice.engine.removeDevices(conv, ['nobody@acme.example']); // no-op: nothing to commit
    const alice2 = await makeDevice(hub, acme, 'alice', 'Alice Schmidt', keys);
    await alice.engine.addMembers(conv, [{ domain: 'acme.example', employee: 'alice' }]);
    hub.devices.get(bob1.address)!.sendBlocked = false;
    await bob1.engine.sync(); // takes in alice's winning commit first: bob's pending one is now stale
    await bob1.restart(); // and survives a restart in that state
    await bob1.engine.flush();
    await syncAll(alice, alice2, bob2);
    const views = await Promise.all([alice, alice2, bob1, bob2].map((d) => d.engine.conversation(conv)));
    expect(views.map((v) => v!.epoch)).toEqual([3, 3, 3, 3]);
    expect(new Set(views.map((v) => v!.fingerprint.digits)).size).toBe(1);
    expect(await texts(bob1, conv)).toEqual(['epoch 1 message']);
  });
});
