/** Token buckets keyed by device, peer or IP. Memory is bounded by pruning idle buckets. */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  /** rate: tokens per second; burst: bucket size */
  constructor(private readonly rate: number, private readonly burst: number) {}

  take(key: string, cost = 1, now = Date.now()): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 100_000) this.prune(now);
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

  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.at > 60_000) this.buckets.delete(k);
  }
}
