/** What a client may cost the gateway before it has proven anything: connections, time, failures. */
import type { Server, ServerOptions } from 'node:http';

/**
 * Tight HTTP limits: a request has 10 s for its headers and 30 s in all, an idle keep-alive
 * connection 5 s (Node's defaults are 60 s and 300 s); the deadlines are checked every second
 * rather than every 30 s.
 */
export const SERVER_LIMITS: ServerOptions = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
  maxHeaderSize: 16 * 1024,
};

/** failed federation requests per source address: 30 at once, then one every 2 s */
export const FED_FAILURE_LIMIT = { rate: 0.5, burst: 30 };
/** one-time key packages handed out per device: 20 at once, then 20 an hour (then the last-resort one) */
export const CLAIM_LIMIT = { rate: 20 / 3600, burst: 20 };

/** Closes a new connection at once when its address already holds `max` (0: no cap). */
export function limitConnectionsPerAddress(server: Server, max: number): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const addr = socket.remoteAddress ?? '?';
    const n = open.get(addr) ?? 0;
    if (n >= max) {
      socket.destroy();
      return;
    }
    open.set(addr, n + 1);
    socket.once('close', () => {
      const left = (open.get(addr) ?? 1) - 1;
      if (left <= 0) open.delete(addr);
      else open.set(addr, left);
    });
  });
}
