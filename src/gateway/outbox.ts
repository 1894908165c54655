/**
 * Durable federation sender: one loop per peer drains the outbox in batches, deletes rows
 * only after the partner answered 200 (it persisted them), and backs off while it is down.
 * The receiver deduplicates, so a retry after a crash never duplicates a message.
 *
 * Batches go out one after another, so a partner stores a conversation's messages in log
 * order (clients apply commits before the messages of the next epoch). What overlaps is
 * everything else: the next batch is read while the current one is on the wire, and deleting
 * a delivered batch and emitting its receipts runs alongside the next request. A cursor (the
 * last row id sent) keeps rows sent but not yet deleted from being sent twice.
 */
import * as v from 'valibot';
import { FedDeliverReply, FedErrorReply } from '../wire/federation';
import type { Gateway } from './context';
import type { Federation } from './federation';
import type { OutboxRow } from './store/types';
import { aggregateReceipts, emitReceipts } from './delivery';

/** the receiver accepts up to 1000 items per request */
const BATCH = 1000;
/** stays well under the receiver's 4 MB body limit, whatever the payload sizes */
const BATCH_BYTES = 3 * 1024 * 1024;
const MAX_BACKOFF_MS = 30_000;

/** A prefix of rows whose JSON fits the byte budget (at least one row). */
function fitBudget(rows: OutboxRow[]): OutboxRow[] {
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    const it = rows[i]!.item;
    bytes += 512 + (it.type === 'deliver' ? it.payload.length + it.recipients.length * 70 : it.messageIds.length * 70);
    if (bytes > BATCH_BYTES && i > 0) return rows.slice(0, i);
  }
  return rows;
}

export class OutboxSender {
  private running = new Set<string>();
  private again = new Set<string>();
  private backoff = new Map<string, number>();
  /** last row id sent to each peer and answered 200 */
  private cursor = new Map<string, number>();

  constructor(
    private readonly gw: Gateway,
    private readonly fed: Federation,
  ) {}

  kick(peer: string): void {
    if (this.running.has(peer)) {
      this.again.add(peer);
      return;
    }
    this.running.add(peer);
    void this.drain(peer).finally(() => {
      this.running.delete(peer);
      if (this.again.delete(peer)) this.kick(peer);
    });
  }

  async kickAll(): Promise<void> {
    for (const p of await this.gw.store.outboxPeers()) this.kick(p);
  }

  private peek(peer: string): Promise<OutboxRow[]> {
    return this.gw.store.peekOutbox(peer, BATCH, this.cursor.get(peer) ?? 0).then(fitBudget);
  }

  private async drain(peer: string): Promise<void> {
    this.again.delete(peer);
    let rows = await this.peek(peer);
    while (rows.length) {
      const ok = await this.post(peer, rows);
      if (!ok) {
        // resend from the oldest undeleted row; the receiver deduplicates what it already has
        this.cursor.delete(peer);
        const wait = Math.min(MAX_BACKOFF_MS, (this.backoff.get(peer) ?? 250) * 2);
        this.backoff.set(peer, wait);
        setTimeout(() => this.kick(peer), wait).unref();
        return;
      }
      this.backoff.delete(peer);
      this.cursor.set(peer, rows[rows.length - 1]!.id);
      this.again.delete(peer);
      const next = this.peek(peer);
      void this.settle(peer, rows).catch((e: unknown) => this.gw.log.error('outbox settle failed', { peer, error: (e as Error).message }));
      rows = await next;
    }
  }

  private async post(peer: string, rows: OutboxRow[]): Promise<boolean> {
    try {
      const r = await this.fed.request(peer, '/v1/fed/deliver', { items: rows.map((x) => x.item) });
      if (r.status !== 200) {
        const err = v.safeParse(FedErrorReply, r.json);
        this.gw.log.warn('partner refused delivery batch', { peer, status: r.status, code: err.success ? err.output.error.code : null });
        return false;
      }
      // a 200 means stored only if it says so: anything else is sent again
      return v.is(FedDeliverReply, r.json);
    } catch (e) {
      this.gw.log.warn('partner delivery failed', { peer, error: (e as Error).message });
      return false;
    }
  }

  /** The partner persisted these rows: drop them and tell the senders. */
  private async settle(peer: string, rows: OutboxRow[]): Promise<void> {
    await this.gw.store.deleteOutbox(rows.map((x) => x.id));
    const delivered = rows.map((x) => x.item).filter((i) => i.type === 'deliver' && !i.sender.endsWith('@' + peer));
    if (delivered.length) await emitReceipts(this.gw, aggregateReceipts(delivered, 'partner', peer));
  }
}
