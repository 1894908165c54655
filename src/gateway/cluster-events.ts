/**
 * Events every instance must see, also one that was cut off from NATS for a while: a device
 * was revoked, a partner has outbox work. They go through a JetStream stream, not core
 * subjects: a core message published while an instance was disconnected is gone for it, while
 * each instance reads the stream with an ordered consumer, which resumes after its last
 * sequence when the connection returns, so the instance replays what it missed.
 *
 * The stream is bounded (10 minutes, 64 MB, 100,000 events, oldest dropped): it shortens the
 * wait, it is not the truth. PostgreSQL is, and every instance still polls the revocations
 * table and sweeps the outbox, which covers an outage longer than the stream keeps events.
 * An event is a hint to look, never an order: a revocation is acted on only once the database
 * says the device is revoked, so whoever can publish on NATS cannot cut a device.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, DiscardPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from './log';

export const token = (s: string) => Buffer.from(s).toString('base64url');
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NANOS_PER_MS = 1_000_000;
/** how long the stream keeps an event: outages longer than this are left to the database poll */
export const STREAM_MAX_AGE_MS = 10 * 60_000;

const names = (domain: string) => ({
  stream: `KONTOR_${token(domain)}`,
  revoked: `kontor.${token(domain)}.events.revoked`,
  outbox: `kontor.${token(domain)}.events.outbox`,
});

export interface EventHandlers {
  revoked(deviceId: string): void;
  outbox(peer: string): void;
  log: Logger;
}

/** Creates the domain's stream if it is missing; an existing one is left as it is. */
async function ensureStream(nc: NatsConnection, domain: string): Promise<void> {
  const n = names(domain);
  const jsm = await jetstreamManager(nc).catch((e: unknown) => {
    throw new Error(`NATS has no JetStream (start nats-server with -js): ${(e as Error).message}`);
  });
  const config = {
    name: n.stream,
    subjects: [n.revoked, n.outbox],
    storage: StorageType.File,
    max_age: STREAM_MAX_AGE_MS * NANOS_PER_MS,
    max_bytes: 64 * 1024 * 1024,
    max_msgs: 100_000,
    max_msg_size: 1024,
    discard: DiscardPolicy.Old,
  };
  try {
    await jsm.streams.add(config);
  } catch (e) {
    // another instance made it first, or the operator changed it (say, to three replicas): use
    // it as it is; anything else is an error
    await jsm.streams.info(n.stream).catch(() => {
      throw e;
    });
  }
}

export class ClusterEvents {
  private readonly js: JetStreamClient;
  private readonly n: ReturnType<typeof names>;
  private closed = false;
  /** partners kicked during this tick: one event each, however many messages named them */
  private kicks = new Set<string>();

  private constructor(nc: NatsConnection, domain: string, h: EventHandlers) {
    this.js = jetstream(nc);
    this.n = names(domain);
    void this.consume(h);
  }

  static async open(nc: NatsConnection, domain: string, h: EventHandlers): Promise<ClusterEvents> {
    await ensureStream(nc, domain);
    return new ClusterEvents(nc, domain, h);
  }

  /** Reads events published from now on; after a disconnect the ordered consumer resumes after the last one read. */
  private async consume(h: EventHandlers): Promise<void> {
    // the stream sequence of the last event read: a consumer made again starts after it
    let last = 0;
    while (!this.closed) {
      try {
        const c = await this.js.consumers.get(
          this.n.stream,
          last ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: last + 1 } : { deliver_policy: DeliverPolicy.New },
        );
        for await (const m of await c.consume()) {
          last = m.seq;
          const value = decoder.decode(m.data);
          // the stream's own limit is 1 KB; ids and domains are far shorter
          if (value.length > 0 && value.length <= 255) {
            if (m.subject === this.n.revoked) h.revoked(value);
            else if (m.subject === this.n.outbox) h.outbox(value);
          }
        }
      } catch (e) {
        if (this.closed) return;
        h.log.warn('reading the cluster event stream failed; trying again', { error: (e as Error).message });
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  /** Outbox rows for a partner were committed. Published after this tick, once per partner. */
  outbox(peer: string, log: Logger): void {
    if (this.kicks.size === 0) setImmediate(() => this.flushKicks(log));
    this.kicks.add(peer);
  }

  private flushKicks(log: Logger): void {
    const peers = [...this.kicks];
    this.kicks.clear();
    // not awaited by the request: the 2 s outbox sweep finds what a lost event would have said
    for (const p of peers)
      this.js
        .publish(this.n.outbox, encoder.encode(p))
        .catch((e: unknown) => log.debug('outbox event not published', { error: (e as Error).message }));
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * The admin CLI's revocation, told to every instance through the stream (PostgreSQL already
 * holds it; this only spares the instances their next poll). False if NATS could not take it.
 */
export async function announceRevocation(url: string, domain: string, deviceIds: readonly string[]): Promise<boolean> {
  if (deviceIds.length === 0) return true;
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers: url, timeout: 3000, name: `kontor-admin ${domain}` });
    await ensureStream(nc, domain);
    const js = jetstream(nc);
    for (const id of deviceIds) await js.publish(names(domain).revoked, encoder.encode(id), { timeout: 3000 });
    return true;
  } catch {
    return false;
  } finally {
    await nc?.close().catch(() => undefined);
  }
}
