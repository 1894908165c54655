/**
 * Which instance sends a partner's outbox: the one holding the partner's PostgreSQL advisory
 * lock, taken with pg_try_advisory_lock on a connection kept for locks alone. One sender per
 * partner keeps batches in log order and sends no row twice; when an instance dies, its
 * connection closes and PostgreSQL drops its locks at once, so another instance's next sweep
 * takes over (no lease to expire, nothing stranded).
 */
import pg from 'pg';

export class PgOutboxLocks {
  private client: pg.Client | null = null;
  private held = new Set<string>();

  constructor(private readonly url: string) {}

  private async conn(): Promise<pg.Client> {
    if (this.client) return this.client;
    const c = new pg.Client({ connectionString: this.url, keepAlive: true, connectionTimeoutMillis: 5000 });
    // a lost lock connection means every lock is gone: stop sending until taken again
    c.on('error', () => this.drop(c));
    c.on('end', () => this.drop(c));
    await c.connect();
    this.client = c;
    return c;
  }

  private drop(c: pg.Client): void {
    if (this.client !== c) return;
    this.client = null;
    this.held.clear();
    void c.end().catch(() => undefined);
  }

  /** true if this instance now sends to the peer (or already did) */
  async acquire(peer: string): Promise<boolean> {
    if (this.held.has(peer)) return true;
    const c = await this.conn();
    const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [`outbox:${peer}`]);
    if (r.rows[0]?.ok) this.held.add(peer);
    return this.held.has(peer);
  }

  holds(peer: string): boolean {
    return this.held.has(peer);
  }

  async release(peer: string): Promise<void> {
    if (!this.held.delete(peer) || !this.client) return;
    await this.client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [`outbox:${peer}`]).catch(() => undefined);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.held.clear();
    await c?.end().catch(() => undefined);
  }
}
