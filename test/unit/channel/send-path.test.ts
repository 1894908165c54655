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

/** Bob takes in Alice's `text`; returns the stores he read with db.get meanwhile. */
async function storesReadTakingIn(text: string): Promise<{ conv: string; reads: string[] }> {
  const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
  await bob.engine.sync();
  await alice.engine.sendText(conv, text);
  const reads: string[] = [];
  const get = bob.db.get.bind(bob.db) as (...a: unknown[]) => Promise<unknown>;
  (bob.db as { get: unknown }).get = (...a: unknown[]) => {
    reads.push(String(a[0]));
    return get(...a);
  };
  await bob.engine.sync();
  expect(await texts(bob, conv)).toEqual([text]);
  return { conv, reads };
}

describe('taking in a message', () => {
  it("reads the conversation's record once per entry", async () => {
    const { reads } = await storesReadTakingIn('read once');
    expect(reads.filter((s) => s === 'conversations')).toHaveLength(1);
  });

  it('reads nothing between decrypting and the one write (the duplicate check is inside it)', async () => {
    const { conv, reads } = await storesReadTakingIn('no extra read');
    // the conversation and its dedup mark, read at once before decrypting; no 'messages' read
    expect(reads).toEqual(['conversations', 'seen']);
    expect((await bob.engine.conversations()).find((c) => c.id === conv)!.unread).toBe(1);
  });

  it('a message whose id is already stored is neither stored again, nor counted unread, nor shown', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    const sent = await alice.engine.sendText(conv, 'arrives twice');
    // e.g. the copy transferred by the browser that linked this one (link-history.ts)
    const earlier = {
      conversationId: conv,
      id: sent.id,
      at: 1,
      direction: 'in' as const,
      body: { iv: new Uint8Array(12), ct: new Uint8Array(1) },
      state: null,
      seq: null,
    };
    await bob.db.put('messages', earlier);
    const events = bob.events.length;
    await bob.engine.sync();
    expect(await bob.db.get('messages', [conv, sent.id])).toEqual(earlier);
    expect((await bob.engine.conversations()).find((c) => c.id === conv)!.unread).toBe(0);
    expect(bob.events.slice(events).filter((e) => e.type === 'message')).toEqual([]);
    // the ratchet moved all the same: the next message opens
    const next = await alice.engine.sendText(conv, 'next one');
    await bob.engine.sync();
    expect((await bob.db.get('messages', [conv, next.id]))?.direction).toBe('in');
    expect(bob.events.at(-1)).toMatchObject({ type: 'message', message: { payload: { text: 'next one' } } });
  });
});
