/** The throwaway servers start on free ports, answer, and are gone by PID after stop. */
import { describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import pg from 'pg';
import { startHaproxy, startNats, startPostgres, type ServiceHandle } from './services';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const listening = (port: number) =>
  new Promise<boolean>((r) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      r(true);
    });
    c.once('error', () => r(false));
  });

describe('throwaway servers', () => {
  it('PostgreSQL, NATS and HAProxy start, serve and stop by PID', async () => {
    const started: ServiceHandle[] = [];
    const [db, nats] = await Promise.all([startPostgres(), startNats()]);
    started.push(db, nats);
    try {
      const proxy = await startHaproxy(['http://127.0.0.1:1']);
      started.push(proxy);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      expect((await c.query('SHOW synchronous_commit')).rows[0].synchronous_commit).toBe('on');
      await c.end();
      expect(await listening(nats.port)).toBe(true);
      // no backend is up: HAProxy answers 503 itself
      expect((await fetch(proxy.url + '/healthz')).status).toBe(503);
    } finally {
      // also when one of them failed to start: nothing is left running
      await Promise.all(started.map((x) => x.destroy()));
    }
    for (const s of started) {
      expect(alive(s.process.pid!)).toBe(false);
      expect(await listening(s.port)).toBe(false);
    }
  });
});
