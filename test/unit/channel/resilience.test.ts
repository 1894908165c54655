/**
 * What a hostile hub or partner gateway can slip into a device's inbox (issue 14, items 9 and
 * 10), with the real MLS engine: entries of another hub, commits and messages that are not
 * MLS at all, forged receipts. Each is dropped and reported, never fatal; a device that lost
 * sync comes back through a fresh Welcome.
 */
import { describe, it, expect, beforeEach } from 'vitest';
import { unwrap } from 'idb';
import { MemoryHub, makeOrg, makeDevice, orgKeys, texts, type Org, type TestDevice } from './hub';
import { MlsOpError, TransportError } from '../../../src/background/channel';
import { toBase64, utf8 } from '../../../src/wire/bytes';
import type { InboxEntry } from '../../../src/wire/protocol';

let hub: MemoryHub;
let acme: Org;
let globex: Org;
let alice: TestDevice;
let carol: TestDevice;
let bob: TestDevice;
let conv: string;

const syncAll = async (...ds: TestDevice[]) => {
  for (const d of ds) await d.engine.sync();
};
const inbox = (d: TestDevice) => hub.devices.get(d.address)!.inbox;
const status = async (d: TestDevice) => (await d.engine.conversation(conv))!;
const warnings = (d: TestDevice) => d.events.flatMap((e) => (e.type === 'warning' ? [e.error] : []));
const garbage = toBase64(utf8('this is not MLS at all'));
let nextId = 1_000_000;
const inject = (d: TestDevice, e: Omit<InboxEntry, 'id' | 'receivedAt'>) => inbox(d).push({ ...e, id: nextId++, receivedAt: Date.now() });

beforeEach(async () => {
  hub = new MemoryHub();
  acme = await makeOrg('acme.example');
  globex = await makeOrg('globex.example');
  const keys = orgKeys(acme, globex);
  alice = await makeDevice(hub, acme, 'alice', 'Alice Schmidt', keys);
  carol = await makeDevice(hub, acme, 'carol', 'Carol Wu', keys);
  bob = await makeDevice(hub, globex, 'bob', 'Bob Meyer', keys);
  hub.contacts.set('globex.example/sales', ['bob']);
  ({ conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', contact: 'sales' }]));
  await syncAll(bob);
});

describe('entries of another hub (item 9)', () => {
  it("an entry labelled with another hub than the conversation's is dropped and reported; the conversation goes on", async () => {
    const epoch = (await status(bob)).epoch;
    inject(bob, {
      kind: 'commit',
      conversationId: conv,
      hub: 'evil.example',
      seq: 99,
      messageId: 'evil-c',
      epoch,
      sender: alice.address,
      payload: garbage,
    });
    inject(bob, {
      kind: 'application',
      conversationId: conv,
      hub: 'evil.example',
      seq: 100,
      messageId: 'evil-a',
      epoch,
      sender: alice.address,
      payload: garbage,
    });
    await syncAll(bob);
    expect(inbox(bob)).toHaveLength(0); // acknowledged, not retried
    const view = await status(bob);
    expect(view.status).toBe('active');
    expect(view.warning).toMatchObject({ code: 'wrong_hub' });
    expect(warnings(bob).filter((e) => e instanceof MlsOpError && e.code === 'wrong_hub')).toHaveLength(2);
    // not marked as seen: the real hub may still deliver a message under that id
    expect(await bob.db.get('seen', [conv, 'evil-c'])).toBeUndefined();

    await alice.engine.sendText(conv, 'still here');
    await syncAll(bob);
    expect(await texts(bob, conv)).toEqual(['still here']);
    await bob.engine.sendText(conv, 'me too');
    await syncAll(alice);
    expect(await texts(alice, conv)).toEqual(['still here', 'me too']);
  });

  it('receipts from another hub, or vouched for by someone not in the group, change no delivery state', async () => {
    await alice.engine.sendText(conv, 'receipted?');
    const [sent] = (await alice.engine.messages(conv)).filter((m) => m.direction === 'out');
    const receipt = (hubName: string, status: 'partner' | 'delivered', by: string) =>
      inject(alice, {
        kind: 'receipt',
        conversationId: conv,
        hub: hubName,
        seq: 5,
        messageId: sent!.id,
        epoch: 0,
        sender: alice.address,
        receipt: { status, by, messageIds: [sent!.id] },
      });
    receipt('evil.example', 'delivered', bob.address);
    receipt('hub.example', 'delivered', 'mallory@initech.example');
    receipt('hub.example', 'partner', 'initech.example');
    await syncAll(alice);
    expect((await alice.engine.messages(conv)).find((m) => m.id === sent!.id)!.state).toBe('sent');
    expect(warnings(alice)).toHaveLength(3);
    // a member's receipt still counts, and costs one transaction: the conversation's hub is
    // known from the record this engine last wrote, not read before the write
    receipt('hub.example', 'delivered', bob.address);
    const txs: unknown[] = [];
    const open = alice.db.transaction.bind(alice.db);
    (alice.db as { transaction: unknown }).transaction = (...a: Parameters<typeof open>) => {
      txs.push(a.slice(0, 2));
      return unwrap(open(...a));
    };
    await syncAll(alice);
    (alice.db as { transaction: unknown }).transaction = open;
    expect(txs).toEqual([['messages', 'readwrite']]);
    expect((await alice.engine.messages(conv)).find((m) => m.id === sent!.id)!.state).toBe('delivered');
  });
});

describe('invalid commits and messages (item 10)', () => {
  it('a commit that is not MLS at all, accepted by the hub at the current epoch, is dropped and reported; the conversation keeps working and commits again', async () => {
    // bob's gateway submits it in bob's name: the hub counts it, every other member gets it
    const hubEpoch = hub.convs.get(conv)!.epoch;
    await hub.transport(bob.address).send({
      conversationId: conv,
      messageId: 'evil-commit',
      kind: 'commit',
      epoch: hubEpoch,
      payload: garbage,
      members: [alice.address, bob.address],
    });
    await hub
      .transport(bob.address)
      .send({ conversationId: conv, messageId: 'evil-app', kind: 'application', epoch: hubEpoch, payload: garbage });
    await syncAll(alice);
    let view = await status(alice);
    expect(view.status).toBe('active');
    expect(view.warning).not.toBeNull();
    expect(warnings(alice)).toHaveLength(2);

    // messages still flow both ways
    await alice.engine.sendText(conv, 'after the garbage');
    await syncAll(bob);
    await bob.engine.sendText(conv, 'read you');
    await syncAll(alice);
    expect(await texts(alice, conv)).toEqual(['after the garbage', 'read you']);

    // and alice can still commit: she submits at the hub's count, which ran past the group's epoch
    const { added } = await alice.engine.addMembers(conv, [{ domain: 'acme.example', employee: 'carol' }]);
    expect(added.map((a) => a.address)).toEqual([carol.address]);
    expect(hub.convs.get(conv)!.epoch).toBe(hubEpoch + 2);
    await syncAll(bob, carol);
    await alice.engine.sendText(conv, 'welcome carol');
    await syncAll(bob, carol);
    expect(await texts(carol, conv)).toEqual(['welcome carol']);
    expect(await texts(bob, conv)).toEqual(['after the garbage', 'read you', 'welcome carol']);
    // carol learnt the hub's count from the Welcome: her own commit is accepted too
    await carol.engine.removeDevices(conv, [bob.address]);
    expect(hub.convs.get(conv)!.epoch).toBe(hubEpoch + 3);
    await syncAll(alice);
    view = await status(alice);
    expect(view.members.map((m) => m.address).sort()).toEqual([alice.address, carol.address].sort());
  });

  it('a device that lost sync says so, commits nothing, and rejoins when a member re-adds it', async () => {
    await alice.engine.addMembers(conv, [{ domain: 'acme.example', employee: 'carol' }]);
    await syncAll(carol);
    // bob never sees the commit that added carol (lost, or unprocessable for him alone)
    hub.devices.get(bob.address)!.inbox = inbox(bob).filter((e) => e.kind !== 'commit');
    await alice.engine.sendText(conv, 'you missed a step');
    await syncAll(bob);
    let view = await status(bob);
    expect(view.status).toBe('out_of_sync');
    expect(view.warning).toMatchObject({ code: 'future_epoch' });
    // his commit would fork the group: refused before anything is sent
    await expect(bob.engine.removeDevices(conv, [carol.address])).rejects.toMatchObject({ code: 'out_of_sync' });

    const { added } = await alice.engine.readdDevices(conv, [bob.address], [{ domain: 'globex.example', contact: 'sales' }]);
    expect(added.map((a) => a.address)).toEqual([bob.address]);
    await syncAll(bob, carol);
    view = await status(bob);
    expect(view.status).toBe('active');
    expect(view.members.map((m) => m.address).sort()).toEqual([alice.address, bob.address, carol.address].sort());
    await alice.engine.sendText(conv, 'back with us');
    await syncAll(bob);
    expect(await texts(bob, conv)).toContain('back with us');
    // and he is a full member again: his commit is accepted and taken in by the others
    await bob.engine.removeDevices(conv, [carol.address]);
    await bob.engine.sendText(conv, 'thanks');
    await syncAll(alice, carol);
    expect(await texts(alice, conv)).toEqual(['you missed a step', 'back with us', 'thanks']);
    expect((await status(alice)).members).toHaveLength(2);
    expect((await status(carol)).status).toBe('removed');
    // every view agrees
    expect((await status(alice)).fingerprint).toEqual((await status(bob)).fingerprint);
  });

  it('re-adding a device that is still in sync works too: it takes in its removal, then the Welcome', async () => {
    await alice.engine.readdDevices(conv, [bob.address], [{ domain: 'globex.example', contact: 'sales' }]);
    await syncAll(bob);
    expect((await status(bob)).status).toBe('active');
    await alice.engine.sendText(conv, 'still with us');
    await syncAll(bob);
    expect(await texts(bob, conv)).toEqual(['still with us']);
    expect(warnings(bob)).toEqual([]);
  });

  it('its own commit, accepted by the hub but not yet applied when a later message arrives, does not count as lost sync', async () => {
    // the hub takes alice's commit, but the answer never reaches her (crash, lost connection)
    const real = hub.transport.bind(hub);
    hub.transport = (addr) => {
      const t = real(addr);
      return addr !== alice.address
        ? t
        : {
            ...t,
            send: async (p) => {
              const r = await t.send(p);
              if (p.kind === 'commit') throw new TransportError('offline', 'answer lost');
              return r;
            },
          };
    };
    await alice.restart();
    await expect(alice.engine.addMembers(conv, [{ domain: 'acme.example', employee: 'carol' }])).rejects.toMatchObject({ code: 'offline' });
    hub.transport = real;
    await syncAll(bob);
    await bob.engine.sendText(conv, 'sent in the gap');
    // on reconnect the service syncs first, then flushes what is pending
    await alice.restart();
    await alice.engine.sync();
    expect((await status(alice)).status).toBe('active');
    await alice.engine.flush();
    await alice.engine.sendText(conv, 'all caught up');
    await syncAll(bob, carol);
    expect(await texts(bob, conv)).toEqual(['sent in the gap', 'all caught up']);
    expect(await texts(carol, conv)).toEqual(['all caught up']);
  });

  it("a Welcome into another group under an existing conversation's name does not replace it", async () => {
    // bob lost sync; a rogue member of another group welcomes him under this conversation's id
    hub.devices.get(bob.address)!.inbox = [];
    await alice.engine.addMembers(conv, [{ domain: 'acme.example', employee: 'carol' }]);
    hub.devices.get(bob.address)!.inbox = inbox(bob).filter((e) => e.kind !== 'commit');
    await alice.engine.sendText(conv, 'later epoch');
    await syncAll(bob);
    expect((await status(bob)).status).toBe('out_of_sync');
    const { conversationId: other } = await carol.engine.startConversation([{ domain: 'globex.example', contact: 'sales' }]);
    const welcome = inbox(bob).find((e) => e.kind === 'welcome' && e.conversationId === other)!;
    hub.devices.get(bob.address)!.inbox = [{ ...welcome, conversationId: conv }];
    await syncAll(bob);
    expect(warnings(bob).some((e) => e instanceof MlsOpError && e.code === 'wrong_group')).toBe(true);
    expect((await status(bob)).status).toBe('out_of_sync');
  });
});
