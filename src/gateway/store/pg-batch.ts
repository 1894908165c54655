/**
 * Group commit on PostgreSQL, as store/batch.ts does it for SQLite: every write queued while
 * the previous transaction was committing runs in one transaction (one WAL flush with
 * synchronous_commit=on), and promises resolve only after COMMIT returned. One failing write
 * must not roll back its neighbours: a batch first runs without savepoints (each costs two
 * round trips); if a write throws, the transaction is rolled back and run again with a
 * savepoint around each write. Writes are functions of the database alone, so running one
 * twice is safe.
 *
 * Several instances write the same rows (a conversation, a device's inbox head), so a
 * transaction can lose a deadlock or serialisation conflict. Those are retried: the whole
 * batch in the first pass, the single write (back to its savepoint) in the second.
 */
import type { Pool, PoolClient } from 'pg';
import { StoreUnavailable } from '../errors';

export type Write<T> = (c: PoolClient) => Promise<T>;
interface Job {
  fn: Write<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
type Outcome = { ok: boolean; value: unknown };

/** deadlock_detected, serialization_failure: the other transaction won, try again */
export const RETRYABLE = new Set(['40P01', '40001']);
export const RETRIES = 5;
export const isRetryable = (e: unknown) => RETRYABLE.has((e as { code?: string })?.code ?? '');

/**
 * Errors that mean "the database is away", not "this request is wrong": connection exceptions
 * (SQLSTATE class 08), shutdown in progress (57P01-57P03), and the driver's socket errors.
 * Callers answer them with 503 so clients retry, and the load balancer's /readyz agrees.
 */
export function unavailable(e: unknown): unknown {
  const code = String((e as { code?: unknown })?.code ?? '');
  const msg = String((e as Error)?.message ?? '');
  if (
    code.startsWith('08') ||
    /^57P0[123]$/.test(code) ||
    /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH)$/.test(code) ||
    /Connection terminated|timeout exceeded when trying to connect|connection error|not queryable/i.test(msg)
  ) {
    return new StoreUnavailable(msg || code);
  }
  return e;
}

/**
 * Runs `fn` on a client checked out of the pool. A checked-out client has no 'error' listener:
 * a connection PostgreSQL drops meanwhile (a restart) would emit an unhandled 'error' and end
 * the process. The failing query rejects as well, so noting it here is enough. A connection
 * that failed without an SQL error (no SQLSTATE: the socket, mid-transaction) is not given back
 * to the pool.
 */
export async function withClient<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken: Error | undefined;
  const lost = (e: Error) => {
    broken = e;
  };
  c.on('error', lost);
  try {
    return await fn(c);
  } catch (e) {
    broken = e as Error;
    throw e;
  } finally {
    c.off('error', lost);
    c.release(broken && !(broken as { code?: string }).code ? broken : undefined);
  }
}

export class PgWriteBatcher {
  private queue: Job[] = [];
  private busy = false;

  constructor(private readonly pool: Pool) {}

  run<T>(fn: Write<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn: fn as Write<unknown>, resolve: resolve as (v: unknown) => void, reject });
      if (!this.busy) {
        this.busy = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** One transaction at a time per instance: what queues meanwhile is the next batch. */
  private async flush(): Promise<void> {
    const jobs = this.queue;
    this.queue = [];
    try {
      const outcomes = await this.commit(jobs);
      for (const [i, job] of jobs.entries()) {
        const o = outcomes[i]!;
        if (o.ok) job.resolve(o.value);
        else job.reject(o.value);
      }
    } catch (e) {
      const err = unavailable(e);
      for (const job of jobs) job.reject(err);
    }
    if (this.queue.length) setImmediate(() => void this.flush());
    else this.busy = false;
  }

  private commit(jobs: Job[]): Promise<Outcome[]> {
    return withClient(this.pool, async (c) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return (await this.attempt(c, jobs, false)) ?? (await this.attempt(c, jobs, true))!;
        } catch (e) {
          await c.query('ROLLBACK').catch(() => undefined);
          if (!isRetryable(e) || attempt >= RETRIES) throw e;
        }
      }
    });
  }

  /** Runs and commits the batch; null (rolled back) if a write failed outside a savepoint. */
  private async attempt(c: PoolClient, jobs: Job[], isolated: boolean): Promise<Outcome[] | null> {
    const outcomes: Outcome[] = [];
    await c.query('BEGIN');
    for (const job of jobs) {
      if (!isolated) {
        try {
          outcomes.push({ ok: true, value: await job.fn(c) });
        } catch (e) {
          // a deadlock of the whole batch is retried by the caller
          if (isRetryable(e)) throw e;
          await c.query('ROLLBACK');
          return null;
        }
        continue;
      }
      outcomes.push(await this.isolated(c, job));
    }
    await c.query('COMMIT');
    return outcomes;
  }

  private async isolated(c: PoolClient, job: Job): Promise<Outcome> {
    for (let attempt = 0; ; attempt++) {
      await c.query('SAVEPOINT w');
      try {
        const value = await job.fn(c);
        await c.query('RELEASE SAVEPOINT w');
        return { ok: true, value };
      } catch (e) {
        await c.query('ROLLBACK TO SAVEPOINT w');
        await c.query('RELEASE SAVEPOINT w');
        if (!isRetryable(e) || attempt >= RETRIES) return { ok: false, value: e };
      }
    }
  }
}
