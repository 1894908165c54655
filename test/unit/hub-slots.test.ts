import { describe, expect, it } from 'vitest';
import { HubSlots } from '../../src/gateway/store/hub-slots';

/** a batch writer whose batches finish when the test says so */
function writer() {
  const batches: { items: string[]; done: () => void }[] = [];
  const run = (items: string[]) =>
    new Promise<void>((done) => {
      batches.push({ items, done });
    });
  return { batches, run };
}
const tick = () => new Promise((r) => setTimeout(r, 0));
const conv = (item: string) => item.split(':')[0]!;

describe('HubSlots', () => {
  it("writes one conversation's batches one after another, in arrival order, and others beside them", async () => {
    const w = writer();
    const slots = new HubSlots<string>(4, conv, w.run);
    slots.add('a:1');
    await tick();
    slots.add('a:2');
    slots.add('b:1');
    slots.add('a:3');
    await tick();
    // b did not wait for a's batch; a's next submissions wait for it
    expect(w.batches.map((b) => b.items)).toEqual([['a:1'], ['b:1']]);
    w.batches[0]!.done();
    await tick();
    expect(w.batches.map((b) => b.items)).toEqual([['a:1'], ['b:1'], ['a:2', 'a:3']]);
  });

  it('keeps at most `slots` batches in flight; what waits for a slot goes together in one batch', async () => {
    const w = writer();
    const slots = new HubSlots<string>(2, conv, w.run);
    slots.add('a:1');
    await tick();
    slots.add('b:1');
    await tick();
    slots.add('c:1');
    slots.add('d:1');
    slots.add('a:2');
    await tick();
    expect(slots.inFlight).toBe(2);
    expect(w.batches.map((b) => b.items)).toEqual([['a:1'], ['b:1']]);
    // b's slot frees: c and d go, a still waits for its own batch
    w.batches[1]!.done();
    await tick();
    expect(w.batches.map((b) => b.items).slice(2)).toEqual([['c:1', 'd:1']]);
    w.batches[0]!.done();
    await tick();
    expect(w.batches.map((b) => b.items).slice(3)).toEqual([['a:2']]);
  });
});
