/** SIGKILL during a stream: every acknowledged message is delivered exactly once after restart. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, newDevice, b64, unb64, type GatewayHandle, type TestDevice } from './helpers';
import type { InboxEntry } from '../../src/wire/protocol';

let gw: GatewayHandle;
let alice: TestDevice;
let bob: TestDevice;
beforeAll(async () => {
  gw = await startGateway({ domain: 'acme.example', extraArgs: ['--rate-device', '100000'] });
  [alice, bob] = await Promise.all([newDevice(gw, 'alice', 'Alice'), newDevice(gw, 'bob', 'Bob')]);
  await alice.client.createConversation('stream');
  await alice.client.send({
    conversationId: 'stream',
    messageId: 'commit-0',
    kind: 'commit',
    epoch: 0,
    payload: b64('c'),
    members: [alice.address, bob.address],
  });
  bob.client.close(); // bob is offline: everything must survive in his inbox
});
afterAll(async () => gw?.stop());

describe('crash safety', () => {
  it('loses and duplicates nothing acknowledged across SIGKILL, and retries stay idempotent', async () => {
    const acked = new Set<string>();
    const attempted: string[] = [];
    let killed = false;
    const TOTAL = 3000;
    const WINDOW = 50;
    let next = 0;
    const sendOne = async (i: number) => {
      const id = `m${i}`;
      attempted.push(id);
      await alice.client.send({ conversationId: 'stream', messageId: id, kind: 'application', epoch: 1, payload: b64(`payload ${i}`) });
      acked.add(id);
    };
    // a sliding window of in-flight sends, killed mid-stream
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (!killed && next < TOTAL && next - acked.size < WINDOW) {
          void sendOne(next++)
            .catch(() => undefined)
            .finally(() => {
              if (killed) return;
              // refill the window first, so sends are in flight when it dies: a whole window
              // can be acknowledged by one group commit, all in the same tick
              pump();
              if (acked.size >= 800) {
                killed = true;
                void gw.kill('SIGKILL').then(resolve);
              }
            });
        }
      };
      pump();
    });
    expect(acked.size).toBeGreaterThanOrEqual(800);
    expect(attempted.length).toBeGreaterThan(acked.size); // some were in flight when it died

    await gw.restart();
    await alice.reconnect();
    // the client retries everything it did not see acknowledged, with the same ids
    for (const id of attempted.filter((x) => !acked.has(x))) {
      const r = await alice.client.send({
        conversationId: 'stream',
        messageId: id,
        kind: 'application',
        epoch: 1,
        payload: b64(`payload ${id.slice(1)}`),
      });
      expect(r.hub).toBe('acme.example');
      acked.add(id);
    }
    // and resends some acknowledged ones, as a client unsure of its state would
    for (const id of [...acked].slice(0, 50))
      expect(
        (await alice.client.send({ conversationId: 'stream', messageId: id, kind: 'application', epoch: 1, payload: b64('x') })).duplicate,
      ).toBe(true);

    await bob.reconnect();
    const got: InboxEntry[] = [];
    for (let after = 0; ; ) {
      const { entries } = await bob.client.fetchInbox(after, 500);
      if (!entries.length) break;
      got.push(...entries);
      after = entries[entries.length - 1]!.id;
    }
    const apps = got.filter((e) => e.kind === 'application');
    const ids = apps.map((e) => e.messageId);
    expect(new Set(ids).size).toBe(ids.length); // no duplicates
    expect(new Set(ids)).toEqual(acked); // none lost, nothing unacknowledged invented
    for (const e of apps) expect(unb64(e.payload!)).toBe(`payload ${e.messageId.slice(1)}`);
    const seqs = apps.map((e) => e.seq).sort((a, b) => a - b);
    expect(new Set(seqs).size).toBe(seqs.length); // the log order has no gaps reused
  });
});
