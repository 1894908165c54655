/**
 * Group commit: every write queued during one event-loop turn runs in a single SQLite
 * transaction (one fsync with synchronous=FULL). Promises resolve only after COMMIT returned.
 * One failing write must not roll back its neighbours; savepoints per write give that, but cost
 * a journal copy of every page each write touches. So a batch first runs without them, and only
 * if a write throws is the whole transaction rolled back and run again with a savepoint around
 * each write (writes are functions of the database alone, so running one twice is safe).
 */
import type Database from 'better-sqlite3';

interface Job {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class WriteBatcher {
  private queue: Job[] = [];
  private scheduled = false;
  private readonly savepoint: (fn: () => unknown) => unknown;

  /** @param onRollback called whenever writes were rolled back, so callers can drop what they cached of them */
  constructor(
    private readonly db: Database.Database,
    private readonly onRollback: () => void = () => undefined,
  ) {
    this.savepoint = db.transaction((fn: () => unknown) => fn());
  }

  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    this.queue = [];
    let outcomes: { ok: boolean; value: unknown }[];
    try {
      outcomes = this.attempt(jobs, false) ?? this.attempt(jobs, true)!;
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.onRollback();
      for (const job of jobs) job.reject(e);
      return;
    }
    jobs.forEach((job, i) => {
      const o = outcomes[i]!;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.value);
    });
  }

  /** Runs and commits the batch; null (rolled back) if a write failed outside a savepoint. */
  private attempt(jobs: Job[], isolated: boolean): { ok: boolean; value: unknown }[] | null {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    this.db.exec('BEGIN IMMEDIATE');
    for (const job of jobs) {
      try {
        outcomes.push({ ok: true, value: isolated ? this.savepoint(job.fn) : job.fn() });
      } catch (e) {
        if (!isolated) {
          // some errors (e.g. SQLITE_FULL) already ended the transaction
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
        }
        this.onRollback();
        if (!isolated) return null;
        outcomes.push({ ok: false, value: e });
      }
    }
    this.db.exec('COMMIT');
    return outcomes;
  }
}
