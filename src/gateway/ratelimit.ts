/** Token buckets keyed by device, peer or IP. At most `maxKeys` buckets: the idle ones go first. */
import { BoundedMap } from './bounded';

/**
 * What a limit answers: in this process (RateLimiter, synchronous) or shared by every instance
 * (store/pg-limits.ts). Callers await take(); a synchronous one is charged at the call itself,
 * before any other request runs, so a reservation made before async work stays one.
 */
export interface Limiter {
  take(key: string, cost?: number): boolean | Promise<boolean>;
  refund(key: string, cost?: number): void | Promise<void>;
}

export class RateLimiter implements Limiter {
  private buckets: BoundedMap<string, { tokens: number; at: number }>;

  /** rate: tokens per second; burst: bucket size; maxKeys: how many keys are remembered */
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    maxKeys = 100_000,
  ) {
    this.buckets = new BoundedMap(maxKeys);
  }

  get size(): number {
    return this.buckets.size;
  }

  take(key: string, cost = 1, now = Date.now()): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

  /** gives back what take() reserved for work that turned out not to count */
  refund(key: string, cost = 1): void {
    const b = this.buckets.get(key);
    if (b) b.tokens = Math.min(this.burst, b.tokens + cost);
  }

  /** how much is left without taking anything */
  peek(key: string, now = Date.now()): number {
    const b = this.buckets.get(key);
    return b ? Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate) : this.burst;
  }
}
