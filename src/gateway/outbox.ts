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

/**
 * With several instances (PostgreSQL), one sends to a peer at a time: the holder of the
 * peer's lock (store/pg-locks.ts). It keeps the lock through backoff, and gives it up only
 * when the outbox is empty and its deletes are committed, so the next holder resends nothing.
 */
export interface SendLocks {
  acquire(peer: string): Promise<boolean>;
  holds(peer: string): boolean;
  release(peer: string): Promise<void>;
}

export class OutboxSender {
  private running = new Set<string>();
  private again = new Set<string>();
  private backoff = new Map<string, number>();
  /** last row id sent to each peer and answered 200 */
  private cursor = new Map<string, number>();
  /** deletes of delivered batches still being committed, per peer */
  private settling = new Map<string, Promise<unknown>>();

  constructor(
    private readonly gw: Gateway,
    private readonly fed: Federation,
    private readonly locks: SendLocks | null = null,
  ) {}

  kick(peer: string): void {
    if (this.running.has(peer)) {
      this.again.add(peer);
      return;
    }
    this.running.add(peer);
    void this.drain(peer)
      .catch((e: unknown) => {
        // the database is away: try again later rather than leave the rows stranded
        this.gw.log.warn('outbox drain failed', { peer, error: (e as Error).message });
        this.cursor.delete(peer);
        setTimeout(() => this.kick(peer), 1000).unref();
      })
      .finally(() => {
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
    if (this.locks) {
      // another instance sends to this peer
      if (!(await this.locks.acquire(peer))) return;
      // rows of other instances may commit below the cursor (ids are drawn before commit):
      // start from the oldest undeleted row, once this instance's deletes are done
      await this.settling.get(peer);
      this.cursor.delete(peer);
    }
    let rows = await this.peek(peer);
    while (rows.length) {
      if (this.locks && !this.locks.holds(peer)) return;
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
      const settled = this.settle(peer, rows).catch((e: unknown) =>
        this.gw.log.error('outbox settle failed', { peer, error: (e as Error).message }),
      );
      this.settling.set(peer, settled);
      rows = await next;
    }
    if (this.locks) {
      await this.settling.get(peer);
      await this.locks.release(peer);
      // a row committed while this instance held the lock found it taken: look once more
      if ((await this.gw.store.peekOutbox(peer, 1)).length) this.again.add(peer);
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
    const delivered = rows.map((x) => x.item).filter((i) => i.type === 'deliver' && !i.sender.endsWith('@' + peer));
    // asked for in one turn, the delete and the senders' receipts share one commit
    await Promise.all([
      this.gw.store.deleteOutbox(rows.map((x) => x.id)),
      delivered.length ? emitReceipts(this.gw, aggregateReceipts(delivered, 'partner', peer)) : null,
    ]);
  }
}
