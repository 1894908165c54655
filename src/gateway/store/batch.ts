/**
 * Group commit: every write queued during one event-loop turn runs in a single SQLite
 * transaction (one fsync with synchronous=FULL), each inside its own savepoint so one failing
 * write does not roll back its neighbours. Promises resolve only after COMMIT returned.
 */
import type Database from 'better-sqlite3';

interface Job { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }

export class WriteBatcher {
  private queue: Job[] = [];
  private scheduled = false;
  private readonly savepoint: (fn: () => unknown) => unknown;

  constructor(private readonly db: Database.Database) {
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
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const job of jobs) {
        try {
          outcomes.push({ ok: true, value: this.savepoint(job.fn) });
        } catch (e) {
          outcomes.push({ ok: false, value: e });
        }
      }
      this.db.exec('COMMIT');
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const job of jobs) job.reject(e);
      return;
    }
    jobs.forEach((job, i) => {
      const o = outcomes[i]!;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.value);
    });
  }
}
