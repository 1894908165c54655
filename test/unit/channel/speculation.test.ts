/**
 * The MLS work of a message runs while its records are read (inbox.ts `speculate`, outbox.ts
 * `encryptAndSend`), and its result is used only if those reads let the message through.
 */
import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
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
    if ((a[1] ?? 'readonly') !== 'readonly' || [a[0]].flat().join(',') !== scope.join(',')) return tx;
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

  it('a message sent is encrypted (signed) while the conversation and its queue are read', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    const sign = vi.spyOn(crypto.subtle, 'sign');
    const reads = holdReads(alice, ['conversations', 'outbox']);
    const sending = alice.engine.sendText(conv, 'overlapped');
    const signedMeanwhile = await turnsUntil(() => sign.mock.calls.length > 0);
    reads.release();
    expect((await sending).state).toBe('sent');
    reads.restore();
    expect(signedMeanwhile).toBe(true);
    await bob.engine.sync();
    expect(await texts(bob, conv)).toEqual(['overlapped']);
  });

  it('a ciphertext made while the reads run is dropped when they say the message must queue: nothing is sent twice or out of order', async () => {
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
