/**
 * The cluster's event stream (JetStream): an instance cut off from NATS while a device was
 * revoked still learns it from the stream once it is back, not only from its database poll.
 * Two instances on one PostgreSQL and one nats-server (-js), the second reaching NATS through
 * a TCP relay the test can cut; the database poll is slowed to 10 minutes so only the stream
 * can cut the device in time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGateway, newDevice, b64, type GatewayHandle } from './helpers';
import { startNats, startPostgres, type NatsHandle, type PostgresHandle } from './services';

const DOMAIN = 'acme.example';
let db: PostgresHandle, nats: NatsHandle;
let g0: GatewayHandle, g1: GatewayHandle;
let keyDir: string;

/** A loopback TCP relay to `port` that can be cut (every connection dropped, no new ones) and restored on the same port. */
function relay(port: number) {
  const open = new Set<Socket>();
  let server: Server | null = null;
  let listenPort = 0;
  const up = () =>
    new Promise<void>((resolve) => {
      server = createServer((c) => {
        const u = connect(port, '127.0.0.1');
        open.add(c).add(u);
        c.pipe(u).pipe(c);
        const drop = () => {
          c.destroy();
          u.destroy();
          open.delete(c);
          open.delete(u);
        };
        c.on('error', drop).on('close', drop);
        u.on('error', drop).on('close', drop);
      });
      server.listen(listenPort, '127.0.0.1', () => {
        listenPort = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  return {
    up,
    get url() {
      return `nats://127.0.0.1:${listenPort}`;
    },
    async cut() {
      // close() waits for open connections: stop listening, then drop them
      const closed = new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      for (const s of open) s.destroy();
      open.clear();
      await closed;
    },
  };
}
let wire: ReturnType<typeof relay>;

async function waitFor(f: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !(await f()); ) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
const natsUp = async (g: GatewayHandle) => ((await (await fetch(g.url + '/readyz')).json()) as { nats?: boolean }).nats === true;

beforeAll(async () => {
  [db, nats] = await Promise.all([startPostgres(), startNats()]);
  wire = relay(nats.port);
  await wire.up();
  keyDir = mkdtempSync(path.join(tmpdir(), 'kontor-orgkey-'));
  const env = { KONTOR_DATABASE_URL: db.url, KONTOR_ORG_KEY_FILE: path.join(keyDir, 'org-key.jwk.json'), KONTOR_DOMAIN: DOMAIN };
  const slowPoll = ['--revocation-poll-ms', '600000'];
  g0 = await startGateway({ domain: DOMAIN, env: { ...env, KONTOR_NATS_URL: nats.url }, extraArgs: slowPoll });
  g1 = await startGateway({ domain: DOMAIN, env: { ...env, KONTOR_NATS_URL: wire.url }, extraArgs: slowPoll });
}, 120_000);
afterAll(async () => {
  await Promise.all([g0?.stop(), g1?.stop()]);
  await wire?.cut();
  await Promise.all([db?.destroy(), nats?.destroy()]);
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

describe('cluster event stream (JetStream)', () => {
  it('an instance cut off from NATS while a device was revoked cuts that device from the stream once it is back', async () => {
    const erin = await newDevice(g0, 'erin', 'Erin');
    erin.client.close();
    await erin.reconnect(g1.url);
    let closedAt = 0;
    erin.client.onClose(() => {
      closedAt = Date.now();
    });
    await wire.cut();
    await waitFor(async () => !(await natsUp(g1)), 15_000);
    // revoked (through the admin CLI, which also tells the stream) while g1 cannot hear it
    const out = JSON.parse(await g0.admin(['devices', 'revoke', erin.certificate.deviceId, '--json']));
    expect(out).toMatchObject({ revoked: erin.certificate.deviceId, announced: true });
    await new Promise((r) => setTimeout(r, 1500));
    expect(closedAt).toBe(0);
    const back = Date.now();
    await wire.up();
    // g1's ordered consumer resumes after the last event it read: the revocation is replayed
    await waitFor(() => closedAt > 0, 20_000);
    expect(closedAt - back).toBeLessThan(20_000);
    expect(g1.logs.some((l) => l.includes('"via":"stream"'))).toBe(true);
  }, 90_000);

  it('entries stored while only the storing instance was cut off reach a device on another instance once it is back', async () => {
    const [sam, rita] = await Promise.all([newDevice(g0, 'sam', 'Sam'), newDevice(g0, 'rita', 'Rita')]);
    sam.client.close();
    await sam.reconnect(g1.url);
    const got: string[] = [];
    rita.client.onEvent((e) => {
      if (e.event === 'inbox' && e.entry.kind === 'application') got.push(e.entry.messageId);
    });
    await sam.client.createConversation('s');
    await sam.client.send({
      conversationId: 's',
      messageId: 's0',
      kind: 'commit',
      epoch: 0,
      payload: b64('c'),
      members: [sam.address, rita.address],
    });
    await wire.cut();
    await waitFor(async () => !(await natsUp(g1)), 15_000);
    // g1 stores these and cannot publish them; g0, where rita is, never lost NATS and has nothing to catch up
    for (let i = 0; i < 3; i++)
      await sam.client.send({ conversationId: 's', messageId: `s${i + 1}`, kind: 'application', epoch: 1, payload: b64(`m${i}`) });
    await new Promise((r) => setTimeout(r, 1000));
    expect(got).toEqual([]);
    await wire.up();
    // g1 asks rita's instance to fetch what it stored for her meanwhile
    await waitFor(() => got.length >= 3, 20_000);
    expect(got).toEqual(['s1', 's2', 's3']);
    sam.client.close();
    rita.client.close();
  }, 90_000);

  it('an event naming a device the database does not hold as revoked cuts nothing', async () => {
    const fay = await newDevice(g0, 'fay', 'Fay');
    fay.client.close();
    await fay.reconnect(g1.url);
    let closed = false;
    fay.client.onClose(() => {
      closed = true;
    });
    // anyone on NATS could publish this; the instances check the database first
    const { announceRevocation } = await import('../../src/gateway/cluster-events');
    expect(await announceRevocation(nats.url, DOMAIN, [fay.certificate.deviceId])).toBe(true);
    await new Promise((r) => setTimeout(r, 2000));
    expect(closed).toBe(false);
    expect((await fay.client.call('keyPackages.count')).available).toBe(0);
    fay.client.close();
  }, 60_000);
});
