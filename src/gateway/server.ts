/** Starts a gateway: store, org key, HTTP + WebSocket server, background jobs. */
import { createServer } from 'node:http';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from './config';
import { Logger } from './log';
import { Metrics } from './metrics';
import { RateLimiter, type Limiter } from './ratelimit';
import { SqliteStore } from './store/sqlite';
import { openThreadedStore } from './store/threaded';
import { PgStore } from './store/pg';
import { PgOutboxLocks } from './store/pg-locks';
import { BlockLimiter, PgRateLimits } from './store/pg-limits';
import { Cluster } from './cluster';
import type { Store } from './store/types';
import { loadOrCreateOrgKey } from './identity';
import { fingerprint } from '../wire/manifest';
import { ENROLL_FAILURE_LIMIT } from './enroll';
import { Federation } from './federation';
import { DeviceSockets } from './ws';
import { OutboxSender } from './outbox';
import { makeHandler } from './http';
import { LINK_LIMITS, LinkMailbox } from './link';
import { listenMetrics } from './metrics-server';
import { every, linkSweep, retentionInterval, retentionSweep, revocationPoll } from './jobs';
import { CLAIM_LIMIT, FED_FAILURE_LIMIT, SERVER_LIMITS, limitConnectionsPerAddress } from './limits';
import type { Gateway } from './context';

export const DB_FILE = 'kontor.sqlite';
/** expired link sessions go within a minute (reads already ignore them) */
const LINK_SWEEP_MS = 60_000;

/** The store for admin commands: in-process, synchronous SQLite. */
export function openStore(dataDir: string): SqliteStore {
  ownerOnlyDir(dataDir);
  return new SqliteStore(path.join(dataDir, DB_FILE));
}

/** The admin commands' store: the gateway's PostgreSQL when given, else its SQLite file. */
export async function openAdminStore(dataDir: string, databaseUrl: string | null): Promise<Store> {
  return databaseUrl ? PgStore.open(databaseUrl, 1) : openStore(dataDir);
}

/** mkdir's mode applies only to a directory it creates: one the operator made (say 0755) is narrowed too */
function ownerOnlyDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
}

/** The server's store: PostgreSQL, or SQLite on a worker thread so commits do not stall the event loop. */
function openServerStore(config: GatewayConfig): Promise<Store> {
  if (config.databaseUrl) return PgStore.open(config.databaseUrl);
  ownerOnlyDir(config.dataDir);
  return Promise.resolve(openThreadedStore(path.join(config.dataDir, DB_FILE)));
}

/** A limit kept in PostgreSQL when the instances share one, else in this process. */
function shared(store: Store, name: string, rate: number, burst: number): Limiter {
  return store instanceof PgStore ? new PgRateLimits(store.pool).limiter(name, rate, burst) : new RateLimiter(rate, burst);
}

/** Ready when a read through the store answers within 2 s (a database that hangs counts as away). */
async function readiness(store: Store, cluster: Cluster | null): Promise<{ ok: boolean; database: boolean; nats?: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const database = await Promise.race([
    store.getMeta('readyz').then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), 2000);
    }),
  ]);
  clearTimeout(timer);
  if (!cluster) return { ok: database, database };
  const nats = cluster.connected;
  return { ok: database && nats, database, nats };
}

export async function startGateway(config: GatewayConfig) {
  const log = new Logger(config.logLevel, { domain: config.domain });
  const store = await openServerStore(config);
  const { key: orgKey, created } = await loadOrCreateOrgKey(config.dataDir, config.orgKeyFile);
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
  // assigned below, before the server takes requests
  let cluster: Cluster | null = null;
  const gw: Gateway = {
    config,
    store,
    orgKey,
    log,
    metrics,
    publicUrl: config.publicUrl ?? `http://${config.host}:${port}`,
    limits: {
      // shared too (a device could open a socket on every instance), spent locally a block at a time
      device:
        store instanceof PgStore
          ? new BlockLimiter(shared(store, 'device', config.ratePerDevice, config.ratePerDevice * 2), Math.floor(config.ratePerDevice / 10))
          : new RateLimiter(config.ratePerDevice, config.ratePerDevice * 2),
      // several instances on one PostgreSQL share these (docs/scale.md: which limits are shared)
      peer: shared(store, 'peer', config.ratePerPeer, config.ratePerPeer * 2),
      enrollFailures: shared(store, 'enroll', ENROLL_FAILURE_LIMIT.rate, ENROLL_FAILURE_LIMIT.burst),
      fedFailures: new RateLimiter(FED_FAILURE_LIMIT.rate, FED_FAILURE_LIMIT.burst),
      claims: shared(store, 'claims', CLAIM_LIMIT.rate, CLAIM_LIMIT.burst),
    },
    // in the store, with limits shared like the ones above: B and A may reach different instances
    links: new LinkMailbox(store, {
      opens: shared(store, 'link-open', LINK_LIMITS.opens.rate, LINK_LIMITS.opens.burst),
      misses: shared(store, 'link-miss', LINK_LIMITS.misses.rate, LINK_LIMITS.misses.burst),
      certs: shared(store, 'link-cert', LINK_LIMITS.certs.rate, LINK_LIMITS.certs.burst),
    }),
    count: {
      http: metrics.counter('kontor_http_requests_total', 'HTTP requests by route and status'),
      messages: metrics.counter('kontor_messages_total', 'Messages by kind and result'),
      federation: metrics.counter('kontor_federation_requests_total', 'Outgoing federation requests by result'),
      auth: metrics.counter('kontor_auth_total', 'Enrollment and device authentication attempts by result'),
    },
    time: {
      storeWrite: metrics.histogram(
        'kontor_store_write_seconds',
        'Durable writes on a message path, asked to committed, by op (hub, peer)',
      ),
      federationOut: metrics.histogram('kontor_federation_request_seconds', 'Outgoing federation requests, signing to answer, by path'),
      federationIn: metrics.histogram(
        'kontor_federation_handling_seconds',
        'Incoming federation requests answered 200, arrival to answer, by path',
      ),
    },
    push: (e) => (cluster ? cluster.deliver(e) : sockets.push(e)),
    disconnect: (d) => sockets.disconnect(d),
    kickOutbox: (p) => {
      outbox.kick(p);
      cluster?.kick(p);
    },
    watch: (d, connected) => cluster?.watch(d, connected),
    ready: () => readiness(store, cluster),
  };
  const fed = new Federation(gw);
  sockets = new DeviceSockets(gw, fed);
  // several instances on one PostgreSQL: one sends to each partner at a time (store/pg-locks.ts)
  const locks = config.databaseUrl ? new PgOutboxLocks(config.databaseUrl) : null;
  outbox = new OutboxSender(gw, fed, locks);
  cluster = config.natsUrl
    ? await Cluster.connect(config.natsUrl, config.domain, {
        pushLocal: (e) => sockets.push(e),
        fetch: (d) => store.fetchInbox(d, 0, 1000),
        kick: (p) => outbox.kick(p),
        // a hint from the stream: acted on only if the database agrees
        revoked: (d) =>
          void store.getDevice(d).then(
            (dev) => {
              if (dev?.revokedAt != null) {
                log.info('device revoked, disconnecting', { deviceId: d, via: 'stream' });
                sockets.disconnect(d);
              }
            },
            () => undefined,
          ),
        log,
      })
    : null;
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

  // a revoked device is refused within --revocation-poll-ms (250) plus one query; a database that is
  // away (PostgreSQL restarting) fails a round, never the process, and the cursor stays put
  const revocationTimer = every(
    config.revocationPollMs,
    log,
    'revocation poll',
    revocationPoll(store, revocationCursor, (deviceId) => {
      log.info('device revoked, disconnecting', { deviceId });
      sockets.disconnect(deviceId);
    }),
  );
  const retentionTimer = every(retentionInterval(config.retentionMs), log, 'retention run', retentionSweep(store, config.retentionMs, log));
  const linkTimer = every(LINK_SWEEP_MS, log, 'link sweep', linkSweep(store, log));
  // the instance holding a partner's lock may die: every instance looks for unsent rows
  const sweepTimer = locks ? every(2000, log, 'outbox sweep', () => outbox.kickAll()) : null;
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
      clearInterval(linkTimer);
      if (sweepTimer) clearInterval(sweepTimer);
      await cluster?.close();
      await locks?.close();
      for (const c of sockets.wss.clients) c.terminate();
      metricsServer?.close();
      await new Promise<void>((r) => httpServer.close(() => r()));
      store.close();
    },
  };
}
