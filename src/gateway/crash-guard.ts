/**
 * What ends the gateway process and what does not. A PostgreSQL that shuts down or drops a
 * connection makes the driver reject or emit an error wherever that connection was in use; a
 * request that meets it answers 503 (store/pg-batch.ts `unavailable`). One that nobody was
 * waiting for (a lost connection between requests) must not take the instance down with it:
 * that was seen in the cluster test, an instance exiting with a FATAL 57P01 ("terminating
 * connection due to administrator command") while PostgreSQL was stopped. It is logged with its
 * stack and the instance goes on; it answers 503 until the database is back, and /readyz says so.
 * Anything else still ends the process, as Node would: an unknown state is not served on.
 */
import { unavailable } from './store/pg-batch';
import { StoreUnavailable } from './errors';

interface Log {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export function isConnectionLoss(e: unknown): boolean {
  return unavailable(e) instanceof StoreUnavailable;
}

export function guardProcess(
  proc: Pick<NodeJS.Process, 'on'>,
  log: Log,
  /** what ends the process (main.ts) */
  fatal: (e: unknown) => void,
): void {
  const onStray = (kind: string) => (e: unknown) => {
    if (!isConnectionLoss(e)) return fatal(e);
    log.warn(`database connection lost outside a request (${kind})`, {
      error: (e as Error)?.message ?? String(e),
      stack: (e as Error)?.stack ?? null,
    });
  };
  proc.on('unhandledRejection', onStray('unhandled rejection'));
  proc.on('uncaughtException', onStray('uncaught exception'));
}
