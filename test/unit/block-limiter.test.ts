import { describe, expect, it } from 'vitest';
import { BlockLimiter, RENEW_AHEAD_MS } from '../../src/gateway/store/pg-limits';
import { RateLimiter } from '../../src/gateway/ratelimit';

/** A bucket of `burst` tokens behind a round trip that counts the questions; hold() keeps answers back until release(). */
function database(burst: number) {
  const bucket = new RateLimiter(0.000001, burst);
  let gate: Promise<void> = Promise.resolve();
  const db = {
    asked: 0,
    release: (): void => undefined,
    hold: () => {
      gate = new Promise<void>((r) => (db.release = r));
    },
    shared: {
      take: async (k: string, cost?: number) => {
        db.asked++;
        await gate;
        return bucket.take(k, cost);
      },
      refund: () => undefined,
    },
  };
  return db;
}

describe('BlockLimiter (a shared limit spent a block at a time)', () => {
  it('two instances sharing a bucket of 100 pass exactly 100, and ask the bucket about once a block', async () => {
    const bucket = new RateLimiter(0.000001, 100);
    let asked = 0;
    const shared = {
      take: (k: string, cost?: number) => {
        asked++;
        return bucket.take(k, cost);
      },
      refund: () => undefined,
    };
    const instances = [new BlockLimiter(shared, 10), new BlockLimiter(shared, 10)];
    let passed = 0;
    for (let i = 0; i < 100; i++) if (await instances[i % 2]!.take('dev')) passed++;
    // the first 100 came out of 10 blocks: one question to the bucket per 10 requests
    expect([passed, asked]).toEqual([100, 10]);
    for (let i = 0; i < 200; i++) if (await instances[i % 2]!.take('dev')) passed++;
    expect(passed).toBe(100);
  });

  it('drops a block not spent within a second: the tokens are not kept by an idle instance', async () => {
    const bucket = new RateLimiter(0.000001, 20);
    const a = new BlockLimiter(bucket, 10);
    const b = new BlockLimiter(bucket, 10);
    expect(await a.take('dev')).toBe(true); // a holds 9 more
    expect(await b.take('dev')).toBe(true); // b holds 9 more: the bucket is empty
    expect(await b.take('x')).toBe(true);
    const realNow = Date.now;
    Date.now = () => realNow() + 1500;
    try {
      // a's block expired: it must ask the (empty) bucket again
      expect(await a.take('dev')).toBe(false);
    } finally {
      Date.now = realNow;
    }
  });

  it('requests arriving while a block is reserved wait for that one reservation instead of asking the bucket each', async () => {
    const db = database(1000);
    // a database round trip: the answer comes only when released
    db.hold();
    const l = new BlockLimiter(db.shared, 100);
    const waiting = Array.from({ length: 50 }, () => l.take('dev'));
    db.release();
    expect(await Promise.all(waiting)).toEqual(Array(50).fill(true));
    // one block of 100 served all 50
    expect(db.asked).toBe(1);
  });

  it('waiters on a reservation the bucket refuses are each asked for one token: the limit stays exact', async () => {
    const db = database(3);
    const l = new BlockLimiter(db.shared, 10);
    const got = await Promise.all(Array.from({ length: 6 }, () => l.take('dev')));
    expect(got.filter(Boolean).length).toBe(3);
    expect(db.asked).toBeLessThanOrEqual(1 + 6);
  });

  /** Date.now() moved to `base + ms` while `fn` runs */
  const at = async <T>(base: number, ms: number, fn: () => T | Promise<T>): Promise<T> => {
    const realNow = Date.now;
    Date.now = () => base + ms;
    try {
      return await fn();
    } finally {
      Date.now = realNow;
    }
  };

  it('renews a block still in use before it expires, in the background: no request waits for the database when it does', async () => {
    const db = database(250);
    const l = new BlockLimiter(db.shared, 100);
    const base = Date.now();
    expect(await at(base, 0, () => l.take('dev'))).toBe(true);
    // in the block's last RENEW_AHEAD_MS: served at once, and the next block is asked for meanwhile
    expect(await at(base, 1000 - RENEW_AHEAD_MS / 2, () => l.take('dev'))).toBe(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(db.asked).toBe(2);
    // the first block has expired: the renewed one answers without a promise (the old code asked the database here)
    expect(await at(base, 1100, () => l.take('dev'))).toBe(true);
    expect(db.asked).toBe(2);
    // the renewed block replaced the old one's rest (one block held at most): 100 in all, then the bucket's last 50
    let passed = 0;
    for (let i = 0; i < 300; i++) if (await at(base, 1100, () => l.take('dev'))) passed++;
    expect(passed).toBe(99 + 50);
  });

  it('a request that finds its block expired while the renewal is on its way waits for that renewal, not a second one', async () => {
    const db = database(1000);
    const l = new BlockLimiter(db.shared, 100);
    const base = Date.now();
    expect(await at(base, 0, () => l.take('dev'))).toBe(true);
    db.hold();
    expect(await at(base, 900, () => l.take('dev'))).toBe(true);
    const waiting = await at(base, 1100, () => Array.from({ length: 20 }, () => l.take('dev')));
    expect(waiting.every((w) => w instanceof Promise)).toBe(true);
    db.release();
    expect(await Promise.all(waiting)).toEqual(Array(20).fill(true));
    expect(db.asked).toBe(2);
  });
});
