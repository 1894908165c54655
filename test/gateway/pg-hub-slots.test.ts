/**
 * The hub's batches on PostgreSQL (pg-submit.ts, hub-slots.ts): a conversation waits only for
 * its own batch in flight, never for another conversation's, and its own submissions still go
 * in order behind it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PgStore } from '../../src/gateway/store/pg';
import { device } from '../unit/gateway-fixtures';
import type { HubResult, HubSubmission } from '../../src/gateway/store/types';
import { startPostgres, type PostgresHandle } from './services';

const HUB = 'acme.example';
const A = `alice@${HUB}`,
  B = `bob@${HUB}`;
// 'x' and 'd' shared a lane when conversations were hashed onto 4 lanes (FNV-1a of the id mod 4 = 3)
const SLOW = 'x',
  OTHER = 'd';

let server: PostgresHandle;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => server?.destroy());

const app = (conv: string, id: string): HubSubmission => ({
  conversationId: conv,
  messageId: id,
  sender: A,
  kind: 'application',
  epoch: 1,
  payload: 'AAAA',
});

/** whether `p` settles within `ms` */
const settlesWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('PgStore hub batches', () => {
  it("a submission is not held behind another conversation's slow batch; the slow conversation keeps its order", async () => {
    const s = await PgStore.open(server.url);
    try {
      await Promise.all(['alice', 'bob'].map((d) => s.addDevice(device(d))));
      for (const conv of [SLOW, OTHER]) {
        await s.createConversation(conv, A, 1);
        await s.submitToHub({ ...app(conv, 'c0'), kind: 'commit', epoch: 0, members: [A, B] }, HUB, 2);
      }
      // the slow conversation's next batch blocks on its row, locked by another connection
      const lock = new pg.Client({ connectionString: server.url });
      await lock.connect();
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [SLOW]);
      const slow = s.submitToHub(app(SLOW, 's1'), HUB, 3);
      // wait until that batch is in flight, so what follows arrives behind it
      for (const end = Date.now() + 20_000; Date.now() < end; ) {
        const r = await lock.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'`);
        if (r.rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const slowNext = s.submitToHub(app(SLOW, 's2'), HUB, 3);
      const other = s.submitToHub(app(OTHER, 'o1'), HUB, 3);
      try {
        // generous: it takes milliseconds; with lanes it waited until the lock was released
        expect(await settlesWithin(other, 15_000)).toBe(true);
        expect(await other).toMatchObject({ ok: true, seq: 2 });
        expect(await settlesWithin(slow, 200)).toBe(false);
        expect(await settlesWithin(slowNext, 200)).toBe(false);
      } finally {
        await lock.query('COMMIT');
        await lock.end();
      }
      const got = (await Promise.all([slow, slowNext])) as (HubResult & { seq: number })[];
      expect(got.map((r) => [r.ok, r.seq])).toEqual([
        [true, 2],
        [true, 3],
      ]);
      // bob's inbox holds the slow conversation's messages in log order
      const inbox = await s.fetchInbox('bob', 0, 100);
      expect(inbox.filter((e) => e.conversationId === SLOW).map((e) => e.messageId)).toEqual(['c0', 's1', 's2']);
    } finally {
      s.close();
    }
  });
});
