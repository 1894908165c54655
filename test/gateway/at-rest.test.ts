/**
 * Issue 14, findings 13 and 17: the data directory is the owner's alone, even one the operator
 * created beforehand; enrollment codes are stored as hashes; the hub's message log keeps only
 * what delivery needs; /metrics is not on the public port.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startGateway, newDevice, b64, type GatewayHandle } from './helpers';

const handles: GatewayHandle[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(handles.map((h) => h.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mode = (f: string) => statSync(f).mode & 0o777;
const FILES = ['kontor.sqlite', 'kontor.sqlite-wal', 'kontor.sqlite-shm', 'org-key.jwk.json'];

function query<T>(dataDir: string, sql: string, ...args: unknown[]): T[] {
  const db = new Database(path.join(dataDir, 'kontor.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

describe('data at rest (issue 14: 13)', () => {
  it('narrows a data directory the operator made 0755, and files an older gateway left 0644', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'kontor-perm-'));
    dirs.push(parent);
    const dataDir = path.join(parent, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const gw = await startGateway({ domain: 'acme.example', dataDir });
    handles.push(gw);
    await gw.enroll('alice', 'Alice');
    const check = () => {
      expect(mode(dataDir)).toBe(0o700);
      for (const f of FILES) if (existsSync(path.join(dataDir, f))) expect([f, mode(path.join(dataDir, f))]).toEqual([f, 0o600]);
    };
    expect(existsSync(path.join(dataDir, 'kontor.sqlite-wal'))).toBe(true);
    check();
    await gw.kill('SIGTERM');
    chmodSync(dataDir, 0o755);
    for (const f of FILES) if (existsSync(path.join(dataDir, f))) chmodSync(path.join(dataDir, f), 0o644);
    await gw.restart();
    await gw.enroll('bob', 'Bob');
    check();
  });

  it('stores enrollment codes only as hashes', async () => {
    const gw = await startGateway({ domain: 'acme.example' });
    handles.push(gw);
    const code = await gw.enroll('carol', 'Carol');
    const rows = query<{ code: string }>(gw.dataDir, 'SELECT code FROM enroll_codes');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.code).toMatch(/^[0-9a-f]{64}$/);
    for (const f of ['kontor.sqlite', 'kontor.sqlite-wal']) {
      const p = path.join(gw.dataDir, f);
      if (existsSync(p)) expect(readFileSync(p).includes(code)).toBe(false);
    }
    // and the hashed code still enrolls
    expect((await newDevice(gw, 'carol', 'Carol')).address).toMatch(/@acme\.example$/);
  });

  it("forgets who sent what once the retention period is over, keeping only each conversation's last position", async () => {
    // 0.00003 days = 2.6 s
    const gw = await startGateway({ domain: 'acme.example', extraArgs: ['--retention-days', '0.00003'] });
    handles.push(gw);
    const alice = await newDevice(gw, 'alice', 'Alice');
    await alice.client.createConversation('c1');
    const send = (id: string) =>
      alice.client.send({ conversationId: 'c1', messageId: id, kind: 'application', epoch: 0, payload: b64(id) });
    for (const id of ['m1', 'm2', 'm3']) await send(id);
    expect(query(gw.dataDir, 'SELECT seq, message_id FROM log WHERE conv_id = ?', 'c1')).toHaveLength(3);
    // a retry within the period is answered as the same message
    expect(await send('m3')).toMatchObject({ seq: 3, duplicate: true });
    await sleep(5000);
    expect(query(gw.dataDir, 'SELECT * FROM log')).toEqual([
      { conv_id: 'c1', seq: 3, message_id: 'm3', sender: alice.address, created_at: expect.any(Number) },
    ]);
    // positions are never handed out twice
    expect(await send('m4')).toMatchObject({ seq: 4, duplicate: false });
  });
});

describe('metrics (issue 14: 17)', () => {
  it('serves /metrics only on its own loopback listener, never on the public port', async () => {
    const gw = await startGateway({ domain: 'acme.example', extraArgs: ['--metrics-port', '0'] });
    const plain = await startGateway({ domain: 'acme.example' });
    handles.push(gw, plain);
    expect((await fetch(gw.url + '/metrics')).status).toBe(404);
    expect((await fetch(plain.url + '/metrics')).status).toBe(404);
    expect(plain.metricsPort).toBeNull();
    const r = await fetch(`http://127.0.0.1:${gw.metricsPort}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('# TYPE kontor_http_requests_total counter');
    // the metrics listener serves nothing else
    expect((await fetch(`http://127.0.0.1:${gw.metricsPort}/.well-known/kontor.json`)).status).toBe(404);
  });

  it('times every durable write of a message: the hub write histogram counts each submission', async () => {
    const gw = await startGateway({ domain: 'acme.example', extraArgs: ['--metrics-port', '0'] });
    handles.push(gw);
    const [a, b] = await Promise.all([newDevice(gw, 'alice', 'Alice'), newDevice(gw, 'bob', 'Bob')]);
    await a.client.createConversation('timed');
    const members = [a.address, b.address];
    await a.client.send({ conversationId: 'timed', messageId: 'c0', kind: 'commit', epoch: 0, payload: b64('commit'), members });
    for (let i = 0; i < 3; i++)
      await a.client.send({ conversationId: 'timed', messageId: `m${i}`, kind: 'application', epoch: 1, payload: b64('x') });
    const text = await (await fetch(`http://127.0.0.1:${gw.metricsPort}/metrics`)).text();
    expect(text).toContain('# TYPE kontor_store_write_seconds histogram');
    expect(text).toContain('kontor_store_write_seconds_count{op="hub"} 4');
    expect(text).toContain('kontor_store_write_seconds_bucket{op="hub",le="+Inf"} 4');
    a.client.close();
    b.client.close();
  });
});
