/** Starts a gateway: store, org key, HTTP + WebSocket server, background jobs. */
import { createServer } from 'node:http';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from './config';
import { Logger } from './log';
import { Metrics } from './metrics';
import { RateLimiter } from './ratelimit';
import { SqliteStore } from './store/sqlite';
import { openThreadedStore } from './store/threaded';
import type { Store } from './store/types';
import { loadOrCreateOrgKey } from './identity';
import { fingerprint } from '../wire/manifest';
import { ENROLL_FAILURE_LIMIT } from './enroll';
import { Federation } from './federation';
import { DeviceSockets } from './ws';
import { OutboxSender } from './outbox';
import { makeHandler } from './http';
import { listenMetrics } from './metrics-server';
import { every, retentionInterval, retentionSweep, revocationPoll } from './jobs';
import { CLAIM_LIMIT, FED_FAILURE_LIMIT, SERVER_LIMITS, limitConnectionsPerAddress } from './limits';
import type { Gateway } from './context';

export const DB_FILE = 'kontor.sqlite';
const REVOCATION_POLL_MS = 250;

/** The store for admin commands: in-process, synchronous SQLite. */
export function openStore(dataDir: string): SqliteStore {
  ownerOnlyDir(dataDir);
  return new SqliteStore(path.join(dataDir, DB_FILE));
}

/** mkdir's mode applies only to a directory it creates: one the operator made (say 0755) is narrowed too */
function ownerOnlyDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
}

/** The server's store: SQLite on a worker thread, so commits do not stall the event loop. */
function openServerStore(dataDir: string): Store {
  ownerOnlyDir(dataDir);
  return openThreadedStore(path.join(dataDir, DB_FILE));
}

export async function startGateway(config: GatewayConfig) {
  const log = new Logger(config.logLevel, { domain: config.domain });
  const store = openServerStore(config.dataDir);
  const { key: orgKey, created } = await loadOrCreateOrgKey(config.dataDir);
  const metrics = new Metrics();
  // read before any device can connect: revocations after this point reach the poll below
  const revocationCursor = await store.revocationSeq();
  const httpServer = createServer(SERVER_LIMITS);
  httpServer.maxHeadersCount = 64;
  limitConnectionsPerAddress(httpServer, config.maxConnsPerAddress);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const addr = httpServer.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;

  let sockets: DeviceSockets;
  let outbox: OutboxSender;
  const gw: Gateway = {
    config,
    store,
    orgKey,
    log,
    metrics,
    publicUrl: config.publicUrl ?? `http://${config.host}:${port}`,
    limits: {
      device: new RateLimiter(config.ratePerDevice, config.ratePerDevice * 2),
      peer: new RateLimiter(config.ratePerPeer, config.ratePerPeer * 2),
      enrollFailures: new RateLimiter(ENROLL_FAILURE_LIMIT.rate, ENROLL_FAILURE_LIMIT.burst),
      fedFailures: new RateLimiter(FED_FAILURE_LIMIT.rate, FED_FAILURE_LIMIT.burst),
      claims: new RateLimiter(CLAIM_LIMIT.rate, CLAIM_LIMIT.burst),
    },
    count: {
      http: metrics.counter('kontor_http_requests_total', 'HTTP requests by route and status'),
      messages: metrics.counter('kontor_messages_total', 'Messages by kind and result'),
      federation: metrics.counter('kontor_federation_requests_total', 'Outgoing federation requests by result'),
      auth: metrics.counter('kontor_auth_total', 'Enrollment and device authentication attempts by result'),
    },
    push: (e) => sockets.push(e),
    disconnect: (d) => sockets.disconnect(d),
    kickOutbox: (p) => outbox.kick(p),
  };
  const fed = new Federation(gw);
  sockets = new DeviceSockets(gw, fed);
  outbox = new OutboxSender(gw, fed);
  metrics.gauge('kontor_ws_authenticated_connections', 'Authenticated device WebSockets', () => sockets.authenticated);
  metrics.gauge('kontor_process_resident_memory_bytes', 'Resident set size', () => process.memoryUsage.rss());

  httpServer.on('request', makeHandler(gw, fed));
  httpServer.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/v1/ws') return void socket.destroy();
    sockets.upgrade(req, socket, head);
  });
  httpServer.on('clientError', (_e, socket) => socket.destroy());
  const metricsServer = config.metricsPort === null ? null : await listenMetrics(metrics, config.metricsPort, config.metricsHost);
  const metricsAddr = metricsServer?.address();

  // a revoked device is refused within REVOCATION_POLL_MS plus one query
  const revocationTimer = every(
    REVOCATION_POLL_MS,
    log,
    'revocation poll',
    revocationPoll(store, revocationCursor, (deviceId) => {
      log.info('device revoked, disconnecting', { deviceId });
      sockets.disconnect(deviceId);
    }),
  );
  const retentionTimer = every(retentionInterval(config.retentionMs), log, 'retention run', retentionSweep(store, config.retentionMs, log));
  await outbox.kickAll();

  if (config.portFile) writeFileSync(config.portFile, String(port));
  log.notice('listening', {
    port,
    host: config.host,
    metricsPort: typeof metricsAddr === 'object' && metricsAddr ? metricsAddr.port : null,
    url: gw.publicUrl,
    fingerprint: await fingerprint(orgKey.publicKeyB64),
    orgKeyCreated: created,
  });

  return {
    port,
    gw,
    async close() {
      clearInterval(revocationTimer);
      clearInterval(retentionTimer);
      for (const c of sockets.wss.clients) c.terminate();
      metricsServer?.close();
      await new Promise<void>((r) => httpServer.close(() => r()));
      store.close();
    },
  };
}
