/** The gateway's background jobs: the revocation poll, the retention sweep and the link sweep. */
import type { Logger } from './log';
import type { Store } from './store/types';

/** Runs `job` every `ms`, skipping a turn while the previous run is still going. */
export function every(ms: number, log: Logger, what: string, job: () => Promise<void>): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    job()
      .catch((e: unknown) => log.error(`${what} failed`, { error: (e as Error).message }))
      .finally(() => {
        running = false;
      });
  }, ms);
  timer.unref();
  return timer;
}

/**
 * Revocations come from the admin CLI, another process writing the same database. They are
 * read by sequence number (schema.ts, version 4), not by time: a revocation is seen within one
 * poll, however long the CLI waited for the database lock.
 * @param cursor the sequence read before the first device could connect
 */
export function revocationPoll(store: Store, cursor: number, onRevoked: (deviceId: string) => void) {
  return async (): Promise<void> => {
    for (const r of await store.revocationsAfter(cursor)) {
      cursor = Math.max(cursor, r.seq);
      onRevoked(r.deviceId);
    }
  };
}

/**
 * Past the retention period an inbox entry is dropped, and the hub's log of who sent what when
 * serves no retry any more either (store.pruneLog).
 */
export function retentionSweep(store: Store, retentionMs: number, log: Logger) {
  return async (): Promise<void> => {
    const cutoff = Date.now() - retentionMs;
    let total = 0;
    for (let n = 1; n > 0; total += n) n = await store.expireInbox(cutoff);
    if (total) log.info('expired inbox entries past retention', { count: total });
    let pruned = 0;
    for (let after: string | null = ''; after !== null; ) {
      const r = await store.pruneLog(cutoff, after);
      pruned += r.deleted;
      after = r.next;
    }
    if (pruned) log.info('pruned message log past retention', { count: pruned });
  };
}

/** Expired link sessions and their ciphertexts are forgotten (every instance may run it: a DELETE by expiry). */
export function linkSweep(store: Store, log: Logger) {
  return async (): Promise<void> => {
    const n = await store.pruneLinkSessions(Date.now());
    if (n) log.debug('pruned expired link sessions', { count: n });
  };
}

/** how often retention runs: every 10 minutes, or every quarter of a shorter period */
export const retentionInterval = (retentionMs: number) => Math.max(100, Math.min(600_000, retentionMs / 4));
