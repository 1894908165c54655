import { describe, it, expect, beforeEach } from 'vitest';
import { MemoryHub, makeOrg, makeDevice, orgKeys, texts, type TestDevice } from '../../support/hub';

let hub: MemoryHub;
let alice: TestDevice;
let bob: TestDevice;

beforeEach(async () => {
  hub = new MemoryHub();
  const [acme, globex] = await Promise.all([makeOrg('acme.example'), makeOrg('globex.example')]);
  const keys = orgKeys(acme, globex);
  alice = await makeDevice(hub, acme, 'alice', 'Alice Schmidt', keys);
  bob = await makeDevice(hub, globex, 'bob', 'Bob Meyer', keys);
});

/** Counts the read-write transactions `d` opens before the hub has taken its next message. */
function writesBeforeSend(d: TestDevice): () => number {
  const before = hub.log.length;
  let n = 0;
  const open = d.db.transaction.bind(d.db) as (...a: unknown[]) => unknown;
  (d.db as { transaction: unknown }).transaction = (...a: unknown[]) => {
    if (a[1] === 'readwrite' && hub.log.length === before) n++;
    return open(...a);
  };
  return () => n;
}

describe('sending a message in an idle conversation', () => {
  it('persists the ciphertext, the message and the advanced ratchet in one transaction before sending', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    const writes = writesBeforeSend(alice);
    const m = await alice.engine.sendText(conv, 'one write');
    expect(writes()).toBe(1);
    expect(m.state).toBe('sent');
    expect((await alice.engine.conversation(conv))!.queued).toBe(0);
    await bob.engine.sync();
    expect(await texts(bob, conv)).toEqual(['one write']);
  });

  it('stopped after that write while offline, a restarted worker sends the same ciphertext once', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    hub.devices.get(alice.address)!.sendBlocked = true;
    expect((await alice.engine.sendText(conv, 'kept')).state).toBe('queued');
    const [stored] = await alice.db.getAll('outbox');
    expect(stored!.ciphertext).not.toBeNull();
    hub.devices.get(alice.address)!.sendBlocked = false;
    await (await alice.restart()).flush();
    const sent = hub.log.filter((p) => p.kind === 'application');
    expect(sent.map((p) => p.payload)).toEqual([Buffer.from(stored!.ciphertext!).toString('base64')]);
    await bob.engine.sync();
    expect(await texts(bob, conv)).toEqual(['kept']);
  });
});

describe('taking in a message', () => {
  it("reads the conversation's record once per entry", async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    await alice.engine.sendText(conv, 'read once');
    const reads: string[] = [];
    const get = bob.db.get.bind(bob.db) as (...a: unknown[]) => Promise<unknown>;
    (bob.db as { get: unknown }).get = (...a: unknown[]) => {
      reads.push(String(a[0]));
      return get(...a);
    };
    await bob.engine.sync();
    expect(await texts(bob, conv)).toEqual(['read once']);
    expect(reads.filter((s) => s === 'conversations')).toHaveLength(1);
  });
});
