import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../../src/background/channel/lock';

/**
 * The Web Locks API's exclusive mode for one name at a time, FIFO, with each holder's context
 * ending on demand (a real context's locks are released when the context goes away).
 */
class FakeLocks {
  requests = 0;
  private queue: { grant: () => void }[] = [];
  private holder: { end: () => void } | null = null;
  request<T>(_name: string, cb: () => Promise<T>): Promise<T> {
    this.requests++;
    return new Promise<T>((resolve, reject) => {
      const grant = () => {
        let end!: () => void;
        const ended = new Promise<void>((r) => (end = r));
        this.holder = { end };
        void Promise.race([cb(), ended]).then((v) => {
          this.holder = null;
          this.queue.shift()?.grant();
          resolve(v as T);
        }, reject);
      };
      if (this.holder) this.queue.push({ grant });
      else grant();
    });
  }
  /** The context holding the lock ends: the browser releases its lock. */
  endHolder(): void {
    this.holder?.end();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('KeyedMutex over Web Locks', () => {
  it('takes the Web Lock once for any number of operations, not once per operation', async () => {
    const locks = new FakeLocks();
    const m = new KeyedMutex('kontor-channel:test', locks);
    for (let i = 0; i < 5; i++) await m.run(i % 2 ? 'a' : 'b', async () => i);
    expect(locks.requests).toBe(1);
  });

  it('a second context runs nothing until the first is gone, even while the first is idle', async () => {
    const locks = new FakeLocks();
    const first = new KeyedMutex('kontor-channel:test', locks);
    const second = new KeyedMutex('kontor-channel:test', locks);
    const order: string[] = [];
    await first.run('c', async () => void order.push('first 1'));
    const waiting = second.run('c', async () => void order.push('second'));
    await tick();
    await first.run('c', async () => void order.push('first 2'));
    await tick();
    expect(order).toEqual(['first 1', 'first 2']);
    locks.endHolder();
    await waiting;
    expect(order).toEqual(['first 1', 'first 2', 'second']);
  });

  it('still runs the operations on one key one after another, in order', async () => {
    const m = new KeyedMutex('kontor-channel:test', new FakeLocks());
    const order: string[] = [];
    const slow = m.run('c', async () => {
      await tick();
      order.push('slow');
    });
    const fast = m.run('c', async () => void order.push('fast'));
    await Promise.all([slow, fast]);
    expect(order).toEqual(['slow', 'fast']);
    expect(m.busy('c')).toBe(false);
  });
});
