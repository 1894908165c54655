/** Everything a request handler needs, built once at start-up. */
import type { GatewayConfig } from './config';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { RoutedEntry, Store } from './store/types';
import type { Ed25519KeyPair } from '../wire/ed25519';
import type { Limiter, RateLimiter } from './ratelimit';
import type { LinkMailbox } from './link';

export interface Gateway {
  config: GatewayConfig;
  store: Store;
  orgKey: Ed25519KeyPair;
  log: Logger;
  metrics: Metrics;
  /** the URL devices and partners use, as published in the manifest */
  publicUrl: string;
  limits: {
    /** requests per device: shared by the instances on one PostgreSQL (blocks of tokens, store/pg-limits.ts) */
    device: Limiter;
    /** shared by the instances on one PostgreSQL (store/pg-limits.ts), else in this process */
    peer: Limiter;
    enrollFailures: Limiter;
    /** failed federation requests per source address */
    fedFailures: RateLimiter;
    /** one-time key packages handed out per target device */
    claims: Limiter;
  };
  /** link sessions, kept in the store: any instance serves either side (link.ts) */
  links: LinkMailbox;
  count: {
    http: (l: Record<string, string>) => void;
    messages: (l: Record<string, string>, by?: number) => void;
    federation: (l: Record<string, string>) => void;
    auth: (l: Record<string, string>) => void;
  };
  /** durations on every message's path, in seconds (histograms on /metrics) */
  time: {
    /** a durable write: `hub` a device's submission, `peer` a partner's request */
    storeWrite: (seconds: number, l: { op: 'hub' | 'peer' }) => void;
    /** an outgoing federation request, signing to answer */
    federationOut: (seconds: number, l: { path: string }) => void;
    /** an incoming federation request, arrival to answer (answered 200) */
    federationIn: (seconds: number, l: { path: string }) => void;
  };
  /** push freshly stored inbox entries to connected devices */
  push(entries: RoutedEntry[]): void;
  /** close the sockets of a device (after revocation) */
  disconnect(deviceId: string): void;
  /** wake the federation sender for a peer */
  kickOutbox(peer: string): void;
  /** a device's first socket on this instance opened (true) or its last one closed (false) */
  watch(deviceId: string, connected: boolean): void;
  /** whether this instance can serve: its database (and, when configured, NATS) answer */
  ready(): Promise<{ ok: boolean; database: boolean; nats?: boolean }>;
}
