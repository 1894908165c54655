/**
 * Instances of one org's gateway, side by side on one PostgreSQL, tell each other through NATS
 * (--nats) what PostgreSQL cannot push: an inbox entry stored by one instance for a device
 * connected to another (core subjects, here), and revocations and outbox work, which every
 * instance must see even after a disconnect (a JetStream stream, cluster-events.ts).
 *
 * NATS carries hints, never the truth: every entry is committed to PostgreSQL before it is
 * published, so a lost message only delays a push. Each instance subscribes to the subjects of
 * the devices connected to it (NATS routes by interest, so an entry crosses to the one
 * instance that needs it); when its NATS connection comes back after an outage, it fetches
 * the unacknowledged entries of its devices from the database and pushes what it had not
 * pushed before, so nothing stored meanwhile waits for the device's next reconnect.
 */
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { InboxEntry } from '../wire/protocol';
import { ClusterEvents, token } from './cluster-events';
import type { Logger } from './log';
import type { RoutedEntry } from './store/types';

export interface ClusterDeps {
  /** push entries to this instance's sockets */
  pushLocal(entries: RoutedEntry[]): void;
  /** a device's unacknowledged entries, oldest first */
  fetch(deviceId: string): Promise<InboxEntry[]>;
  /** wake this instance's sender for a partner */
  kick(peer: string): void;
  /** another instance or the admin CLI says a device was revoked: check the database, cut its sockets */
  revoked(deviceId: string): void;
  log: Logger;
}

/** entries pushed per device, remembered so a catch-up after an outage pushes none twice */
const REMEMBER = 5000;
/** devices remembered per outage whose entries were not published; beyond, every instance catches up */
const MISSED_DEVICES = 10_000;
const CATCH_UP = 'catch-up';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Cluster {
  private subs = new Map<string, Subscription>();
  private pushed = new Map<string, Set<number>>();
  private readonly prefix: string;

  private constructor(
    private readonly nc: NatsConnection,
    domain: string,
    private readonly deps: ClusterDeps,
    private readonly events: ClusterEvents,
  ) {
    this.prefix = `kontor.${token(domain)}`;
    // another instance missed more devices than it remembers: everyone catches up
    nc.subscribe(`${this.prefix}.catchup`, { callback: () => void this.catchUp() });
    void this.watchStatus();
  }

  static async connect(url: string, domain: string, deps: ClusterDeps): Promise<Cluster> {
    const nc = await connect({
      servers: url,
      name: `kontor-gateway ${domain} ${process.pid}`,
      // this instance pushed its own entries already: the server need not echo them back
      noEcho: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // a reconnect attempt that hangs (a server still starting on a loaded machine) is given
      // up after this, not after the default 20 s, and the next one tried
      timeout: 3000,
      pingInterval: 2000,
      maxPingOut: 2,
    });
    const events = await ClusterEvents.open(nc, domain, { revoked: deps.revoked, outbox: deps.kick, log: deps.log }).catch(
      async (e: unknown) => {
        await nc.close();
        throw e;
      },
    );
    return new Cluster(nc, domain, deps, events);
  }

  /** NATS is reachable (for /readyz) */
  get connected(): boolean {
    return !this.nc.isClosed() && this.up;
  }
  private up = true;
  /** devices whose entries were stored while NATS was away, for missedDevices() */
  private missed = new Set<string>();
  private missedMore = false;

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.up = false;
        this.deps.log.warn('NATS disconnected; live push across instances paused');
      } else if (s.type === 'reconnect') {
        this.up = true;
        this.deps.log.info('NATS reconnected; pushing what was stored meanwhile');
        void this.catchUp();
        this.missedDevices();
      }
    }
  }

  /** Entries this instance stored: pushed here, and published for devices connected elsewhere. */
  deliver(entries: RoutedEntry[]): void {
    this.pushLocal(entries);
    // while NATS is away the client would buffer every publication without bound; the
    // instances read what they missed from the database when it returns (catchUp)
    // instances catch up from the database when it returns. An outage of this instance's
    // connection alone catches up nobody else: it remembers whose entries it did not publish
    // and asks their instances to fetch them once it is back (missedDevices)
    if (!this.up) {
      for (const e of entries) {
        if (this.missed.size < MISSED_DEVICES) this.missed.add(e.deviceId);
        else this.missedMore = true;
      }
      return;
    }
    for (const e of entries) this.nc.publish(`${this.prefix}.inbox.${token(e.deviceId)}`, encoder.encode(JSON.stringify(e)));
  }

  /** After this instance's outage: the instances holding the devices it stored entries for fetch them. */
  private missedDevices(): void {
    for (const d of this.missed) this.nc.publish(`${this.prefix}.inbox.${token(d)}`, encoder.encode(CATCH_UP));
    if (this.missedMore) this.nc.publish(`${this.prefix}.catchup`, encoder.encode(CATCH_UP));
    this.missed.clear();
    this.missedMore = false;
  }

  /** Outbox rows for a partner were committed: whichever instance sends to it should look. */
  kick(peer: string): void {
    this.events.outbox(peer, this.deps.log);
  }

  /** A device's first socket on this instance opened, or its last one closed. */
  watch(deviceId: string, connected: boolean): void {
    if (!connected) {
      this.subs.get(deviceId)?.unsubscribe();
      this.subs.delete(deviceId);
      this.pushed.delete(deviceId);
      return;
    }
    if (this.subs.has(deviceId)) return;
    this.subs.set(
      deviceId,
      this.nc.subscribe(`${this.prefix}.inbox.${token(deviceId)}`, {
        callback: (_e, m) => {
          if (!m) return;
          try {
            const text = decoder.decode(m.data);
            if (text === CATCH_UP) return void this.catchUp([deviceId]);
            const e = JSON.parse(text) as RoutedEntry;
            // only ever for the device subscribed to: a message cannot name another one
            if (e.deviceId === deviceId) this.pushLocal([e]);
          } catch {
            /* not ours */
          }
        },
      }),
    );
  }

  private pushLocal(entries: RoutedEntry[]): void {
    const fresh = entries.filter(({ deviceId, entry }) => {
      const seen = this.pushed.get(deviceId);
      if (!this.subs.has(deviceId)) return true;
      if (seen?.has(entry.id)) return false;
      const set = seen ?? new Set<number>();
      if (!seen) this.pushed.set(deviceId, set);
      set.add(entry.id);
      if (set.size > REMEMBER) set.delete(set.values().next().value!);
      return true;
    });
    if (fresh.length) this.deps.pushLocal(fresh);
  }

  /**
   * Pushes what the connected devices missed while NATS was away. The database may be away
   * or slow too (both return after an outage of the machine room): a failed round is tried
   * again, with backoff, until it succeeds or NATS goes away again (the next reconnect starts
   * a new one). Without this, what was stored meanwhile waited for the device's next reconnect.
   */
  private async catchUp(devices?: string[]): Promise<void> {
    const round = devices ? this.catchUps : ++this.catchUps;
    for (let wait = 250; this.up && round === this.catchUps; wait = Math.min(wait * 2, 5000)) {
      try {
        for (const deviceId of devices ?? [...this.subs.keys()]) {
          const entries = await this.deps.fetch(deviceId);
          this.pushLocal(entries.map((entry) => ({ deviceId, entry })));
        }
        return;
      } catch (e) {
        this.deps.log.warn('catch-up after NATS outage failed; trying again', { error: (e as Error).message, inMs: wait });
        await new Promise((r) => setTimeout(r, wait).unref());
      }
    }
  }
  private catchUps = 0;

  async close(): Promise<void> {
    this.events.close();
    await this.nc.close();
  }
}
