import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import { unwrap, type IDBPTransaction } from 'idb';
import { MemoryHub, makeOrg, makeDevice, orgKeys, texts, type TestDevice } from '../../support/hub';

/**
 * A wrapper put in place of `db.transaction` hands back the raw transaction: idb wraps what the
 * wrapper returns once more, and a transaction wrapped twice has two `done` promises, one of
 * which nobody awaits (an aborted transaction then rejects it unhandled).
 */
const bare = (tx: unknown) => unwrap(tx as IDBPTransaction);

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

/** The IndexedDB transactions `d` opens (as "stores mode") before the hub has taken its next message. */
function transactionsBeforeSend(d: TestDevice): string[] {
  const before = hub.log.length;
  const txs: string[] = [];
  const open = d.db.transaction.bind(d.db) as (...a: unknown[]) => unknown;
  (d.db as { transaction: unknown }).transaction = (...a: unknown[]) => {
    if (hub.log.length === before) txs.push(`${[a[0]].flat().join(',')} ${a[1] ?? 'readonly'}`);
    return bare(open(...a));
  };
  return txs;
}

describe('sending a message in an idle conversation', () => {
  it('persists the ciphertext, the message and the advanced ratchet in one transaction before sending', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    const txs = transactionsBeforeSend(alice);
    const m = await alice.engine.sendText(conv, 'one write');
    // encrypted with the state in memory first; the conversation and the count of its queue
    // are read inside the one write transaction
    expect(txs).toEqual(['conversations,outbox,messages readwrite']);
    expect(m.state).toBe('sent');
    // the view handed back without reading the record is the one the stored record opens to
    expect(m).toEqual((await alice.engine.messages(conv)).find((x) => x.id === m.id));
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

/** Bob takes in Alice's `text`; returns the IndexedDB transactions he opened meanwhile, as "stores mode". */
async function transactionsTakingIn(text: string): Promise<{ conv: string; txs: string[] }> {
  const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
  await bob.engine.sync();
  await alice.engine.sendText(conv, text);
  const txs: string[] = [];
  const open = bob.db.transaction.bind(bob.db) as (...a: unknown[]) => unknown;
  (bob.db as { transaction: unknown }).transaction = (...a: unknown[]) => {
    txs.push(`${[a[0]].flat().join(',')} ${a[1] ?? 'readonly'}`);
    return bare(open(...a));
  };
  await bob.engine.sync();
  (bob.db as { transaction: unknown }).transaction = open;
  expect(await texts(bob, conv)).toEqual([text]);
  return { conv, txs };
}

describe('taking in a message', () => {
  it('reads the conversation and its dedup mark in one transaction and writes once, with nothing in between', async () => {
    const { conv, txs } = await transactionsTakingIn('two transactions');
    // the duplicate check of the message id is inside the write, not a read before it
    expect(txs).toEqual(['conversations,seen,messages readonly', 'conversations,messages,seen readwrite']);
    expect((await bob.engine.conversations()).find((c) => c.id === conv)!.unread).toBe(1);
  });

  it('shows a new message before the write that stores it, and acknowledges it only after that write', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    const sent = await alice.engine.sendText(conv, 'seen early');
    const events = bob.events.length;
    const device = hub.devices.get(bob.address)!;
    const shownAtWrite: number[] = [];
    const pendingAtWrite: number[] = [];
    const open = bob.db.transaction.bind(bob.db) as (...a: unknown[]) => unknown;
    (bob.db as { transaction: unknown }).transaction = (...a: unknown[]) => {
      if (a[1] === 'readwrite') {
        shownAtWrite.push(bob.events.slice(events).filter((e) => e.type === 'message').length);
        pendingAtWrite.push(device.inbox.length);
      }
      return bare(open(...a));
    };
    await bob.engine.sync();
    (bob.db as { transaction: unknown }).transaction = open;
    // when the one write began, the page had been told, and the gateway still held the entry
    expect(shownAtWrite).toEqual([1]);
    expect(pendingAtWrite[0]).toBeGreaterThan(0);
    expect(device.inbox).toEqual([]);
    expect((await bob.db.get('messages', [conv, sent.id]))?.direction).toBe('in');
  });

  it('a message whose id is already stored is neither stored again nor counted unread; shown before its reads, it is followed by a re-read of the history', async () => {
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
    // decrypted with the state in memory, it was shown before the reads found the id held; the
    // page is then told to read the history again, which holds the earlier record only
    expect(bob.events.slice(events).map((e) => e.type)).toEqual(['message', 'conversation']);
    // the ratchet moved all the same: the next message opens
    const next = await alice.engine.sendText(conv, 'next one');
    await bob.engine.sync();
    expect((await bob.db.get('messages', [conv, next.id]))?.direction).toBe('in');
    expect(bob.events.at(-1)).toMatchObject({ type: 'message', message: { payload: { text: 'next one' } } });
  });
});

// The MLS work of a message runs while its records are read (inbox.ts `speculate`, outbox.ts
// `encryptAndSend`); its result is used only if those reads let the message through.
afterEach(() => vi.restoreAllMocks());

type Store = Record<'get' | 'getKey' | 'count', (k: unknown) => Promise<unknown>> & { index(n: string): Store };

/**
 * Holds back the results of `d`'s read-only transactions over exactly `scope` until released:
 * the requests run, only their answers wait.
 */
function holdReads(d: TestDevice, scope: string[]): { release(): void; restore(): void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const open = d.db.transaction.bind(d.db) as unknown as (...a: unknown[]) => { objectStore(n: string): Store };
  const held = (s: Store): Store => ({
    get: async (k) => ((v) => gate.then(() => v))(await s.get(k)),
    getKey: async (k) => ((v) => gate.then(() => v))(await s.getKey(k)),
    count: async (k) => ((v) => gate.then(() => v))(await s.count(k)),
    index: (n) => held(s.index(n)),
  });
  (d.db as { transaction: unknown }).transaction = (...a: unknown[]) => {
    const tx = open(...a);
    if ((a[1] ?? 'readonly') !== 'readonly' || [a[0]].flat().join(',') !== scope.join(',')) return bare(tx);
    return { ...tx, objectStore: (n: string) => held(tx.objectStore(n)) };
  };
  return { release, restore: () => ((d.db as { transaction: unknown }).transaction = open) };
}

/** Lets the event loop run until `cond` holds or a generous number of turns passed. */
async function turnsUntil(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  return cond();
}

describe('the MLS work of a message overlaps the reads before it', () => {
  it('a received message is decrypted (its signature checked) while its records are read', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync(); // Bob joins: his state is in memory from here on
    await alice.engine.sendText(conv, 'overlapped');
    const verify = vi.spyOn(crypto.subtle, 'verify');
    const reads = holdReads(bob, ['conversations', 'seen', 'messages']);
    const syncing = bob.engine.sync();
    const verifiedMeanwhile = await turnsUntil(() => verify.mock.calls.length > 0);
    reads.release();
    await syncing;
    reads.restore();
    expect(verifiedMeanwhile).toBe(true);
    expect(await texts(bob, conv)).toEqual(['overlapped']);
  });

  it('a received message decrypted with the state in memory is shown before its records are read, and stored and acknowledged after', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    const sent = await alice.engine.sendText(conv, 'before the reads');
    const events = bob.events.length;
    const reads = holdReads(bob, ['conversations', 'seen', 'messages']);
    const syncing = bob.engine.sync();
    const shownMeanwhile = await turnsUntil(() => bob.events.slice(events).some((e) => e.type === 'message'));
    const device = hub.devices.get(bob.address)!;
    const pendingMeanwhile = device.inbox.length;
    reads.release();
    await syncing;
    reads.restore();
    expect(shownMeanwhile).toBe(true);
    expect(pendingMeanwhile).toBe(1); // not acknowledged before it was stored
    expect(device.inbox).toEqual([]);
    const stored = (await bob.engine.messages(conv)).find((m) => m.id === sent.id)!;
    const shown = bob.events.slice(events).filter((e) => e.type === 'message');
    // shown once, as it is stored (the same time too)
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatchObject({ message: { id: sent.id, at: stored.at, payload: { text: 'before the reads' } } });
    expect(bob.events.slice(events).filter((e) => e.type !== 'message')).toEqual([]);
  });

  it("an entry labelled with another hub than the conversation's is never shown, not even from a decryption that succeeds", async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    await alice.engine.sendText(conv, 'first');
    await bob.engine.sync();
    await alice.engine.sendText(conv, 'relayed by the wrong gateway');
    // the real ciphertext, handed to Bob by a gateway that does not host the conversation
    const device = hub.devices.get(bob.address)!;
    for (const entry of device.inbox) entry.hub = 'evil.example';
    const events = bob.events.length;
    await bob.engine.sync();
    expect(bob.events.slice(events).map((e) => e.type)).toEqual(['warning']);
    expect(await texts(bob, conv)).toEqual(['first']);
  });

  it('a conversation record changed since this engine wrote it is never overwritten with the old one: the write is redone from the stored record', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    await alice.engine.sendText(conv, 'one');
    // another writer changes the record behind the engine's back (the engine's hint is now old)
    const stored = (await alice.db.get('conversations', conv))!;
    await alice.db.put('conversations', { ...stored, unread: 7, lastActivity: 42 });
    const txs = transactionsBeforeSend(alice);
    await alice.engine.sendText(conv, 'two');
    // the first write, asked for with the hint, was aborted; the second read the record first
    expect(txs).toEqual(['conversations,outbox,messages readwrite', 'conversations,outbox,messages readwrite']);
    expect((await alice.db.get('conversations', conv))!.unread).toBe(7);
    expect(hub.log.filter((p) => p.kind === 'application')).toHaveLength(2);
    await bob.engine.sync();
    expect(await texts(bob, conv)).toEqual(['one', 'two']);
  });

  it('without the state in memory (a restarted worker), a message sent reads first, then encrypts while its records are sealed, and writes once', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    const restarted = await alice.restart();
    const txs = transactionsBeforeSend(alice);
    await restarted.sendText(conv, 'after a restart');
    expect(txs).toEqual(['conversations,outbox readonly', 'conversations,outbox,messages readwrite']);
    await bob.engine.sync();
    expect(await texts(bob, conv)).toEqual(['after a restart']);
  });

  it('a ciphertext made before the reads is dropped (the transaction aborted) when they say the message must queue: nothing is sent twice or out of order', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    hub.devices.get(alice.address)!.sendBlocked = true;
    expect((await alice.engine.sendText(conv, 'first')).state).toBe('queued');
    hub.devices.get(alice.address)!.sendBlocked = false;
    // 'second' is encrypted with the state in memory, then finds 'first' queued: it waits behind it
    await alice.engine.sendText(conv, 'second');
    await alice.engine.flush();
    const sent = hub.log.filter((p) => p.kind === 'application');
    expect(sent).toHaveLength(2);
    await bob.engine.sync();
    expect(await texts(bob, conv)).toEqual(['first', 'second']);
    expect(bob.events.filter((e) => e.type === 'warning')).toEqual([]);
  });
});

describe('messages sent one right after the other', () => {
  it('leave in the order they were written, also when a later one is queued before an earlier one has checked the queue', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    await alice.engine.sendText(conv, 'warm');
    // three sends at once, as three Enter presses reach the worker: the first holds the lock
    // while the others are persisted behind it
    await Promise.all(['one', 'two', 'three'].map((t) => alice.engine.sendText(conv, t)));
    await alice.engine.flush();
    await bob.engine.sync();
    expect(await texts(bob, conv)).toEqual(['warm', 'one', 'two', 'three']);
    // and the sender's own history shows them in that order too
    const own = (await alice.engine.messages(conv)).flatMap((m) => (m.payload?.type === 'text' ? [m.payload.text] : []));
    expect(own).toEqual(['warm', 'one', 'two', 'three']);
  });
});
