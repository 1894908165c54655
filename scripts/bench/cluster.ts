/**
 * Cluster benchmark (`npm run bench -- cluster`): the gateway on PostgreSQL + NATS behind
 * HAProxy, all throwaway instances on loopback. Keys (JSON, last stdout line):
 * - pg_durable_msgs_per_s_1 / _3: acknowledged 1 KB messages per second with one and with three
 *   instances (three share this machine's cores: no extrapolation here, see docs/scale.md)
 * - pg_ceiling_inserts_per_s: the same durable writes per message (log row, inbox row,
 *   conversation position, inbox head) as multi-row statements, 100 messages a transaction
 *   from 4 connections, straight into the same PostgreSQL right after the one-instance run
 * - cross_instance_p50_ms_at_1000 / _p99_ms_at_1000: sender on instance 0, recipient on
 *   instance 1, open loop at 1,000 messages/s, due to push; split into _ack_ (due to stored and
 *   acknowledged) and _hop_ (acknowledged to pushed on the other instance). The timed messages
 *   follow a warm-up of latency_warmup_s seconds at the same rate (printed; BENCH_LATENCY_WARMUP_S,
 *   default 2, 0 for none): its messages are sent, acknowledged and checked for delivery like the
 *   others but left out of the percentiles and the CPU figures, because a fresh cluster's first
 *   second (connections, JIT, prepared statements) is not the steady state the target is about;
 *   cross_instance_p99_ms_at_1000_with_warmup counts them too, as a run without a warm-up would
 * - failover_s: the recipient's instance killed until its backlog is delivered through another
 *   (failover_reconnect_s: of which until the recipient was connected again)
 * - pg_rowwise_inserts_per_s: the ceiling as earlier runs measured it, a statement per row
 * - pg_ceiling_commit_p50_ms_at_1000 / _p99_: the stored stage's ceiling, the same rows written
 *   straight into the same PostgreSQL at 1,000 messages/s, open loop, group commit
 * - cpu_ms_per_msg_*: CPU milliseconds per message by process kind (gateway instances, PostgreSQL,
 *   NATS, HAProxy, this load generator) and machine_busy (0..1 of all cores) in each phase
 * Environment: BENCH_SECONDS (per throughput run, default 8), BENCH_WINDOW (in flight per sender, 200),
 * BENCH_LATENCY_MESSAGES (20,000), BENCH_LATENCY_WARMUP_S (2), BENCH_ONLY=one (the one-instance run and the ceiling alone, to
 * compare builds) or BENCH_ONLY=latency (the latency run and its ceiling alone).
 */
import pg from 'pg';
import { newDevice, type TestDevice } from '../../test/gateway/helpers';
import { startCluster, type ClusterHandle } from '../../test/gateway/cluster-helpers';
import { randomBytes, toBase64 } from '../../src/wire/bytes';
import { cpuSnapshot, cpuSplit, log, percentile, round, sleep } from './lib/stats';

/** The processes whose CPU time the benchmark reports, by command line. */
const KINDS = {
  gateway: /dist\/gateway\/main\.js/,
  postgres: /^postgres/,
  nats: /nats-server/,
  haproxy: /haproxy/,
  bench: /scripts\/bench\/cluster\.ts/,
};
/** CPU seconds per kind over a phase per 1,000 messages (milliseconds per message), and how busy the machine was. */
function cpuPer1000(split: Record<string, number>, messages: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(split)) out[k] = k === 'machine_busy' ? round(v, 2) : round((v / messages) * 1000, 3);
  return out;
}

const PAYLOAD = toBase64(randomBytes(1024));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 200);
/** 20 s at 1,000 a second: a p99 over 200 messages, not the few of one hiccup */
const LATENCY_MESSAGES = Number(process.env.BENCH_LATENCY_MESSAGES ?? 20_000);
/** seconds at the same rate before the timed messages: sent and checked, left out of the percentiles */
const LATENCY_WARMUP_S = Number(process.env.BENCH_LATENCY_WARMUP_S ?? 2);
const ARGS = ['--rate-device', '10000000', '--rate-peer', '1000000', '--log-level', 'warn'];

async function pair(c: ClusterHandle, name: string, senderUrl: string, recipientUrl: string): Promise<[TestDevice, TestDevice, string]> {
  const via = { ...c.instances[0]!, url: c.url };
  const [a, b] = await Promise.all([newDevice(via, `${name}-a`, 'A'), newDevice(via, `${name}-b`, 'B')]);
  a.client.close();
  b.client.close();
  await Promise.all([a.reconnect(senderUrl), b.reconnect(recipientUrl)]);
  await a.client.createConversation(name);
  await a.client.send({
    conversationId: name,
    messageId: 'c0',
    kind: 'commit',
    epoch: 0,
    payload: PAYLOAD,
    members: [a.address, b.address],
  });
  return [a, b, name];
}

/** Acknowledged sends per second, each sender in its own conversation on its own instance. */
async function throughput<T>(
  instances: number,
  thenOnSameDb?: (url: string) => Promise<T>,
): Promise<[number, T | undefined, Record<string, number>]> {
  const c = await startCluster({ domain: 'acme.example', instances, extraArgs: ARGS });
  try {
    const senders = await Promise.all(c.instances.flatMap((g, i) => [0, 1].map((k) => pair(c, `t${i}-${k}`, g.url, g.url))));
    let acked = 0;
    let seq = 0;
    const cpu0 = cpuSnapshot();
    const end = Date.now() + SECONDS * 1000;
    await Promise.all(
      senders.map(async ([a, , conv]) => {
        const loop = async () => {
          while (Date.now() < end) {
            await a.client.send({ conversationId: conv, messageId: `m${seq++}`, kind: 'application', epoch: 1, payload: PAYLOAD });
            acked++;
          }
        };
        await Promise.all(Array.from({ length: Math.ceil(WINDOW / senders.length) }, loop));
      }),
    );
    const cpu = cpuPer1000(cpuSplit(cpu0, KINDS), acked);
    log(`${instances} instance(s): CPU seconds per 1,000 messages ${JSON.stringify(cpu)}`);
    for (const [a, b] of senders) {
      a.client.close();
      b.client.close();
    }
    return [acked / SECONDS, thenOnSameDb ? await thenOnSameDb(c.db.url) : undefined, cpu];
  } finally {
    await c.stop();
  }
}

/** Runs `batch` (which returns the messages it wrote) in a loop on 4 connections for SECONDS; messages per second. */
async function fourConnections(url: string, setup: string, batch: (c: pg.PoolClient, conv: string) => Promise<number>): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 4, options: '-c synchronous_commit=on' });
  await pool.query(setup);
  let n = 0;
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    ['a', 'b', 'c', 'd'].map(async (conv) => {
      const c = await pool.connect();
      while (Date.now() < end) {
        await c.query('BEGIN');
        n += await batch(c, conv);
        await c.query('COMMIT');
      }
      c.release();
    }),
  );
  await pool.end();
  return n / SECONDS;
}

/**
 * The database alone: per message the rows a hub message writes for one recipient (a log row,
 * an inbox row with its 1 KB payload, the conversation's next position, the device's inbox
 * head), as multi-row statements of 100 messages a transaction (synchronous commit) from 4
 * connections: what the gateway's group commit would reach if its own work cost nothing.
 */
function ceiling(url: string): Promise<number> {
  return fourConnections(url, CEILING_TABLES, (c, conv) => writeMessages(c, conv, 100));
}

const CEILING_TABLES = `CREATE TABLE c_log (conv TEXT, seq BIGINT, mid TEXT, sender TEXT, at BIGINT, PRIMARY KEY (conv, seq), UNIQUE (conv, mid));
  CREATE TABLE c_inbox (dev TEXT, id BIGINT, kind TEXT, conv TEXT, hub TEXT, seq BIGINT, mid TEXT, epoch INT, sender TEXT,
    payload BYTEA, at BIGINT, PRIMARY KEY (dev, id));
  CREATE TABLE c_head (dev TEXT PRIMARY KEY, last BIGINT);
  CREATE TABLE c_conv (id TEXT PRIMARY KEY, next BIGINT); INSERT INTO c_conv VALUES ('a',1),('b',1),('c',1),('d',1)`;

/** Writes the rows of `n` messages of conversation `conv` for one recipient (inside the caller's transaction); returns n. */
async function writeMessages(c: pg.PoolClient, conv: string, n: number): Promise<number> {
  const bytes = Buffer.from(PAYLOAD, 'base64');
  const last = Number((await c.query('UPDATE c_conv SET next = next + $2 WHERE id = $1 RETURNING next', [conv, n])).rows[0].next);
  const seqs = Array.from({ length: n }, (_, i) => last - n + i);
  const head = Number(
    (
      await c.query(
        'INSERT INTO c_head VALUES ($1, $2) ON CONFLICT (dev) DO UPDATE SET last = c_head.last + excluded.last RETURNING last',
        [`dev-${conv}`, n],
      )
    ).rows[0].last,
  );
  await c.query(
    `WITH l AS (INSERT INTO c_log SELECT $1, q, m, 'sender@acme.example', $4 FROM unnest($2::bigint[], $3::text[]) AS t (q, m))
    INSERT INTO c_inbox SELECT $5, h, 'application', $1, 'acme.example', q, m, 1, 'sender@acme.example', $6, $4
    FROM unnest($2::bigint[], $3::text[], $7::bigint[]) AS t (q, m, h)`,
    [conv, seqs, seqs.map((q) => `m${q}`), Date.now(), `dev-${conv}`, bytes, seqs.map((_, i) => head - n + 1 + i)],
  );
  return n;
}

/**
 * The stored stage's ceiling for the latency figures: the same rows per message written by a
 * bare client straight into the same PostgreSQL, open loop at 1,000 messages/s, with group
 * commit as the gateway does it (what fell due while a transaction committed is the next
 * one), timed from due to COMMIT returned. What the database and this machine allow before
 * any gateway work.
 */
async function commitLatency(url: string, total: number): Promise<Split> {
  const pool = new pg.Pool({ connectionString: url, max: 1, options: '-c synchronous_commit=on' });
  await pool.query(CEILING_TABLES);
  const c = await pool.connect();
  const due: number[] = [];
  const took: number[] = [];
  let writing: Promise<void> | null = null;
  const flush = async () => {
    while (due.length) {
      const batch = due.splice(0);
      await c.query('BEGIN');
      await writeMessages(c, 'a', batch.length);
      await c.query('COMMIT');
      const now = performance.now();
      for (const d of batch) took.push(now - d);
    }
    writing = null;
  };
  const start = performance.now();
  for (let i = 0; i < total; ) {
    for (const now = performance.now(); i < total && start + i <= now; i++) due.push(start + i);
    writing ??= flush();
    await sleep(1);
  }
  await writing;
  c.release();
  await pool.end();
  return split(took);
}

/**
 * The ceiling as earlier runs measured it: the same rows, one statement per row, 100 messages a
 * transaction from 4 connections. Kept as a second key so figures stay comparable with them.
 */
function ceilingRowwise(url: string): Promise<number> {
  const bytes = Buffer.from(PAYLOAD, 'base64');
  return fourConnections(
    url,
    `CREATE TABLE r_log (conv TEXT, seq BIGINT, mid TEXT, PRIMARY KEY (conv, seq), UNIQUE (conv, mid));
    CREATE TABLE r_inbox (dev TEXT, id BIGINT, payload BYTEA, PRIMARY KEY (dev, id));
    CREATE TABLE r_conv (id TEXT PRIMARY KEY, next BIGINT); INSERT INTO r_conv VALUES ('a',1),('b',1),('c',1),('d',1)`,
    async (c, conv) => {
      for (let i = 0; i < 100; i++) {
        const seq = (await c.query('UPDATE r_conv SET next = next + 1 WHERE id = $1 RETURNING next', [conv])).rows[0].next as string;
        await c.query('INSERT INTO r_log VALUES ($1, $2, $3)', [conv, seq, `m${seq}`]);
        await c.query('INSERT INTO r_inbox VALUES ($1, $2, $3)', [conv, seq, bytes]);
      }
      return 100;
    },
  );
}

interface Split {
  p50: number;
  p99: number;
}
const split = (xs: number[]): Split => {
  const s = [...xs].sort((x, y) => x - y);
  return { p50: percentile(s, 50), p99: percentile(s, 99) };
};

/**
 * Open loop at 1,000 messages/s from a sender on instance 0 to a recipient on instance 1: each
 * message is timed from when it was due (not when the loop got round to it, so a stalled loop
 * shows up as latency), to its acknowledgement (stored: the hub's commit) and to its push at
 * the recipient (the NATS hop and the push). Then the failover: the recipient's instance holds
 * 1,000 unacknowledged entries and is killed; timed until the recipient, reconnected through
 * HAProxy, has read the whole backlog from another instance.
 */
async function latencyAndFailover(): Promise<{
  push: Split;
  /** the same with the warm-up's messages counted: what a run without a warm-up would read */
  pushWithWarmup: Split;
  ack: Split;
  hop: Split;
  failover: number;
  reconnect: number;
  cpu: Record<string, number>;
  commit: Split;
}> {
  const c = await startCluster({ domain: 'acme.example', instances: 3, extraArgs: ARGS });
  try {
    const [a, b, conv] = await pair(c, 'lat', c.instances[0]!.url, c.instances[1]!.url);
    const dueAt = new Map<string, number>();
    const ackAt = new Map<string, number>();
    const pushAt = new Map<string, number>();
    b.client.onEvent((e) => {
      if (e.event === 'inbox' && dueAt.has(e.entry.messageId)) pushAt.set(e.entry.messageId, performance.now());
    });
    // the warm-up's messages come first, at the same rate, and are checked like the others
    const warm = Math.round(LATENCY_WARMUP_S * 1000);
    const total = warm + LATENCY_MESSAGES;
    let cpu0 = cpuSnapshot();
    const start = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < total; ) {
      // every message due by now goes out now: the offered load does not wait for answers
      for (const now = performance.now(); i < total && start + i <= now; i++) {
        if (i === warm && warm) cpu0 = cpuSnapshot();
        const id = i < warm ? `w${i}` : `l${i}`;
        dueAt.set(id, start + i);
        sends.push(
          a.client
            .send({ conversationId: conv, messageId: id, kind: 'application', epoch: 1, payload: PAYLOAD })
            .then(() => ackAt.set(id, performance.now())),
        );
      }
      await sleep(1);
    }
    await Promise.all(sends);
    const cpu = cpuPer1000(cpuSplit(cpu0, KINDS), LATENCY_MESSAGES);
    log(`latency: CPU seconds per 1,000 messages ${JSON.stringify(cpu)}`);
    for (const end = Date.now() + 30_000; pushAt.size < total && Date.now() < end; ) await sleep(50);
    log(`latency: ${pushAt.size}/${total} pushes seen in ${round((performance.now() - start) / 1000, 1)} s`);
    // the stored stage's ceiling, on the same PostgreSQL right after, while the cluster idles
    const commit = await commitLatency(c.db.url, LATENCY_MESSAGES);
    if (pushAt.size < total) log(`latency: ${total - pushAt.size} messages (warm-up included) never pushed`);
    // the figures: the messages after the warm-up
    const ids = [...dueAt.keys()].filter((id) => id.startsWith('l'));
    const seen = ids.filter((id) => pushAt.has(id));
    const push = split(seen.map((id) => pushAt.get(id)! - dueAt.get(id)!));
    const pushWithWarmup = split([...pushAt].map(([id, at]) => at - dueAt.get(id)!));
    const ack = split(ids.map((id) => ackAt.get(id)! - dueAt.get(id)!));
    const hop = split(seen.map((id) => pushAt.get(id)! - ackAt.get(id)!));
    dueAt.clear();

    // failover: the recipient's instance holds a backlog of 1,000 unacknowledged entries, then dies
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        a.client.send({ conversationId: conv, messageId: `f${i}`, kind: 'application', epoch: 1, payload: PAYLOAD }),
      ),
    );
    const killed = performance.now();
    await c.instances[1]!.kill('SIGKILL');
    let reconnected = 0;
    for (;;) {
      try {
        await b.reconnect(c.url);
        reconnected ||= performance.now();
        let after = 0;
        let backlog = 0;
        for (;;) {
          const { entries } = await b.client.fetchInbox(after, 500);
          if (!entries.length) break;
          backlog += entries.filter((e) => e.messageId.startsWith('f')).length;
          after = entries.at(-1)!.id;
        }
        if (backlog >= 1000) break;
      } catch {
        await sleep(50);
      }
    }
    const failover = (performance.now() - killed) / 1000;
    a.client.close();
    b.client.close();
    return { push, pushWithWarmup, ack, hop, failover, reconnect: (reconnected - killed) / 1000, cpu, commit };
  } finally {
    await c.stop();
  }
}

// the ceiling runs on the very PostgreSQL the one-instance run just used, right after it
if (process.env.BENCH_ONLY === 'latency') {
  // for comparing builds quickly: the cross-instance latency alone
  const { push, pushWithWarmup, ack, hop, cpu, commit } = await latencyAndFailover();
  console.log(JSON.stringify({ push, pushWithWarmup, ack, hop, commit, cpu, latency_warmup_s: LATENCY_WARMUP_S }));
  process.exit(0);
}
const [one, ceilings, cpuOne] = await throughput(1, async (url) => [await ceiling(url), await ceilingRowwise(url)] as const);
const [ceil, rowwise] = ceilings!;
log(`1 instance: ${round(one, 0)} msgs/s; ceiling: ${round(ceil, 0)} message writes/s (${round(rowwise, 0)} a row at a time)`);
if (process.env.BENCH_ONLY === 'one') {
  // for comparing builds quickly: the one-instance figure and its ceilings alone
  console.log(
    JSON.stringify({
      pg_durable_msgs_per_s_1: round(one, 0),
      pg_ceiling_inserts_per_s: round(ceil, 0),
      pg_rowwise_inserts_per_s: round(rowwise, 0),
      ratio: round(one / ceil, 3),
    }),
  );
  process.exit(0);
}
const [three, , cpuThree] = await throughput(3);
log(`3 instances: ${round(three, 0)} msgs/s`);
const { push, pushWithWarmup, ack, hop, failover, reconnect, cpu, commit } = await latencyAndFailover();
console.log(
  JSON.stringify({
    pg_durable_msgs_per_s_1: round(one, 0),
    pg_durable_msgs_per_s_3: round(three, 0),
    pg_ceiling_inserts_per_s: round(ceil, 0),
    pg_rowwise_inserts_per_s: round(rowwise, 0),
    cross_instance_p50_ms_at_1000: round(push.p50, 2),
    cross_instance_p99_ms_at_1000: round(push.p99, 2),
    // the stages of the figure above: due to acknowledged (stored), acknowledged to pushed on the other instance
    cross_instance_ack_p50_ms_at_1000: round(ack.p50, 2),
    cross_instance_ack_p99_ms_at_1000: round(ack.p99, 2),
    cross_instance_hop_p50_ms_at_1000: round(hop.p50, 2),
    cross_instance_hop_p99_ms_at_1000: round(hop.p99, 2),
    // seconds of messages at the same rate before the timed ones, delivered and checked, not in the percentiles
    latency_warmup_s: LATENCY_WARMUP_S,
    cross_instance_p99_ms_at_1000_with_warmup: round(pushWithWarmup.p99, 2),
    pg_ceiling_commit_p50_ms_at_1000: round(commit.p50, 2),
    pg_ceiling_commit_p99_ms_at_1000: round(commit.p99, 2),
    failover_s: round(failover, 2),
    // of which: until the recipient was connected again through HAProxy (the rest: reading its backlog)
    failover_reconnect_s: round(reconnect, 2),
    // CPU milliseconds per message by kind of process, and how busy the machine was, per phase
    cpu_ms_per_msg_1: cpuOne,
    cpu_ms_per_msg_3: cpuThree,
    cpu_ms_per_msg_at_1000: cpu,
  }),
);
process.exit(0);
