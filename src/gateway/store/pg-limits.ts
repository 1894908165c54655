/**
 * Token buckets in PostgreSQL, for limits that must hold whichever instance a request reaches
 * (docs/scale.md): enrollment failures per client address and per code, requests per partner,
 * one-time key packages per device. One statement takes a token atomically, so requests
 * racing on several instances cannot all pass a check made before any of them was charged.
 *
 * The table is UNLOGGED: no WAL and no fsync per take (a limit need not survive a database
 * crash, which empties it). A bucket row is dropped once it would be full again (full_at), so
 * the table holds only keys that spent something recently.
 */
import type { Pool } from 'pg';
import { unavailable } from './pg-batch';
import type { Limiter } from '../ratelimit';

/**
 * $1 key, $2 burst, $3 tokens per second, $4 cost, $5 now (ms). A new key starts full; an
 * existing one refills for the time since it was last charged. Returns a row only if charged.
 *
 * Takes racing on several instances reach the row in any order, each with its own clock
 * reading: one that read its clock before the last charge refills for no time (never for a
 * negative time, which took tokens away and refused a take the burst allowed), and `at` never
 * goes back.
 */
const REFILLED = 'LEAST($2::float8, b.tokens + GREATEST(0, $5 - b.at) / 1000.0 * $3::float8)';
const TAKE = `
INSERT INTO rate_buckets AS b (key, tokens, at, full_at)
SELECT $1, $2::float8 - $4, $5, $5 + ($4 / $3::float8 * 1000)::bigint WHERE $2::float8 >= $4
ON CONFLICT (key) DO UPDATE SET
  tokens = ${REFILLED} - $4,
  at = GREATEST(b.at, $5),
  full_at = GREATEST(b.at, $5) + ((($2::float8 - (${REFILLED} - $4)) / $3::float8) * 1000)::bigint
  WHERE ${REFILLED} >= $4
RETURNING 1`;

const REFUND = `UPDATE rate_buckets SET tokens = LEAST($2::float8, tokens + $3), full_at = full_at - ($3 / $4::float8 * 1000)::bigint WHERE key = $1`;

export class PgRateLimits {
  private takes = 0;

  constructor(
    private readonly pool: Pool,
    /** the instance's clock, in ms (a test may set it) */
    private readonly clock: () => number = Date.now,
  ) {}

  /** A limiter of `rate` tokens per second and `burst` at most; `name` keeps its keys apart from other limiters'. */
  limiter(name: string, rate: number, burst: number): Limiter {
    return {
      take: (key, cost = 1) => this.take(`${name}:${key}`, rate, burst, cost),
      refund: (key, cost = 1) => this.refund(`${name}:${key}`, rate, burst, cost),
    };
  }

  private async take(key: string, rate: number, burst: number, cost: number): Promise<boolean> {
    const now = this.clock();
    try {
      // now and then, drop buckets that have filled up again: absent and full are the same
      if (++this.takes % 100 === 0)
        await this.pool.query('DELETE FROM rate_buckets WHERE key IN (SELECT key FROM rate_buckets WHERE full_at < $1 LIMIT 1000)', [now]);
      return ((await this.pool.query(TAKE, [key, burst, rate, cost, now])).rowCount ?? 0) > 0;
    } catch (e) {
      throw unavailable(e);
    }
  }

  private async refund(key: string, rate: number, burst: number, cost: number): Promise<void> {
    try {
      await this.pool.query(REFUND, [key, burst, cost, rate]);
    } catch (e) {
      throw unavailable(e);
    }
  }
}

/**
 * A shared limit on a hot path (requests per device, every RPC): each instance takes tokens
 * from the shared bucket a block at a time and spends them locally, so only one request in
 * `block` costs a round trip. What a device can get beyond the shared limit is bounded by the
 * blocks the instances hold at once (N instances: at most N × block), and a block not spent
 * within a second is dropped, so tokens stay with the bucket rather than with an instance.
 * Near the end of the bucket, where a whole block is no longer there, tokens are taken one
 * at a time: the limit itself holds exactly.
 *
 * A block still being spent in its last RENEW_AHEAD_MS is renewed in the background, so the
 * requests of a busy device do not all wait for a round trip when it expires (a stall once a
 * second at the latency benchmark's tail). The renewed block replaces the old one, whose rest
 * is dropped: an instance holds at most one block per key, as before. Only a block that lasted
 * 750 ms is renewed, i.e. for a device spending under 1.33 blocks a second (2/15 of its rate
 * at the default block of a tenth), so the tokens dropped never bring it near its limit.
 */
/** how long before a block expires a request that spends from it starts the next one's reservation */
export const RENEW_AHEAD_MS = 250;
const BLOCK_MS = 1000;

export class BlockLimiter implements Limiter {
  private local = new Map<string, { tokens: number; until: number }>();
  /** a reservation on its way, per key: requests meanwhile wait for it instead of asking too */
  private reserving = new Map<string, Promise<boolean>>();

  constructor(
    private readonly shared: Limiter,
    private readonly block: number,
  ) {}

  take(key: string): boolean | Promise<boolean> {
    if (this.spend(key, Date.now())) return true;
    // A block is being reserved for this key: wait for it, then spend from it. Without this,
    // every request of a busy device that arrived during the round trip (each second, when
    // its block expires) asked the database on its own and waited behind the others.
    const pending = this.reserving.get(key);
    if (pending) return pending.then(() => this.spend(key, Date.now()) || this.shared.take(key, 1));
    const p = this.reserve(key, Date.now()).finally(() => this.reserving.delete(key));
    this.reserving.set(key, p);
    return p;
  }

  /** true if a token came out of this instance's block for the key */
  private spend(key: string, now: number): boolean {
    const l = this.local.get(key);
    if (l && l.until > now && l.tokens >= 1) {
      l.tokens--;
      if (l.until - now < RENEW_AHEAD_MS) this.renew(key, now);
      return true;
    }
    if (l) this.local.delete(key);
    // the map holds only keys that spent something in the last second
    if (this.local.size > 10_000) for (const [k, v] of this.local) if (v.until <= now) this.local.delete(k);
    return false;
  }

  private async reserve(key: string, now: number): Promise<boolean> {
    if (this.block > 1 && (await this.shared.take(key, this.block))) {
      const l = this.local.get(key);
      // a concurrent reservation for the same key already landed: add to it
      if (l && l.until > now) l.tokens += this.block - 1;
      else this.local.set(key, { tokens: this.block - 1, until: now + BLOCK_MS });
      return true;
    }
    return this.shared.take(key, 1);
  }

  /**
   * The next block, reserved while the current one still serves. Requests that find the
   * current one spent or expired before it lands wait for it (take). A refusal (less than a
   * block left) or a failure (the database away) leaves it to the next request to ask itself.
   */
  private renew(key: string, now: number): void {
    if (this.block <= 1 || this.reserving.has(key)) return;
    const p = Promise.resolve(this.shared.take(key, this.block))
      .then(
        (ok) => {
          // replaces the old block's rest: one block per key and instance at most
          if (ok) this.local.set(key, { tokens: this.block, until: now + BLOCK_MS });
          return ok;
        },
        () => false,
      )
      .finally(() => this.reserving.delete(key));
    this.reserving.set(key, p);
  }

  refund(key: string, cost = 1): void {
    const l = this.local.get(key);
    if (l) l.tokens += cost;
  }
}
