/**
 * Durable federation sender: one loop per peer drains the outbox in batches, deletes rows
 * only after the partner answered 200 (it persisted them), and backs off while it is down.
 * The receiver deduplicates, so a retry after a crash never duplicates a message.
 */
import type { Gateway } from './context';
import type { Federation } from './federation';
import { aggregateReceipts, emitReceipts } from './delivery';

const BATCH = 500;
const MAX_BACKOFF_MS = 30_000;

export class OutboxSender {
  private running = new Set<string>();
  private again = new Set<string>();
  private backoff = new Map<string, number>();

  constructor(private readonly gw: Gateway, private readonly fed: Federation) {}

  kick(peer: string): void {
    if (this.running.has(peer)) { this.again.add(peer); return; }
    this.running.add(peer);
    void this.drain(peer).finally(() => {
      this.running.delete(peer);
      if (this.again.delete(peer)) this.kick(peer);
    });
  }

  async kickAll(): Promise<void> {
    for (const p of await this.gw.store.outboxPeers()) this.kick(p);
  }

  private async drain(peer: string): Promise<void> {
    for (;;) {
      this.again.delete(peer);
      const rows = await this.gw.store.peekOutbox(peer, BATCH);
      if (rows.length === 0) return;
      let ok = false;
      try {
        const r = await this.fed.request(peer, '/v1/fed/deliver', { items: rows.map((x) => x.item) });
        ok = r.status === 200;
        if (!ok) this.gw.log.warn('partner refused delivery batch', { peer, status: r.status, code: r.json?.error?.code });
      } catch (e) {
        this.gw.log.warn('partner delivery failed', { peer, error: (e as Error).message });
      }
      if (!ok) {
        const wait = Math.min(MAX_BACKOFF_MS, (this.backoff.get(peer) ?? 250) * 2);
        this.backoff.set(peer, wait);
        setTimeout(() => this.kick(peer), wait).unref();
        return;
      }
      this.backoff.delete(peer);
      await this.gw.store.deleteOutbox(rows.map((x) => x.id));
      const delivered = rows.map((x) => x.item).filter((i) => i.type === 'deliver' && !i.sender.endsWith('@' + peer));
      if (delivered.length) await emitReceipts(this.gw, aggregateReceipts(delivered, 'partner', peer));
    }
  }
}
