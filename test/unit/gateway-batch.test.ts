import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { WriteBatcher } from '../../src/gateway/store/batch';

function setup() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  const ins = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const rows = () => db.prepare('SELECT k, v FROM t ORDER BY k').all();
  const rollbacks = { n: 0 };
  return {
    db,
    w: new WriteBatcher(db, () => {
      rollbacks.n++;
    }),
    ins,
    rows,
    rollbacks,
  };
}

describe('WriteBatcher', () => {
  it('commits a batch of writes in one transaction and resolves each with its result', async () => {
    const { w, ins, rows, rollbacks } = setup();
    const out = await Promise.all([1, 2, 3].map((i) => w.run(() => ins.run(`k${i}`, i).changes)));
    expect(out).toEqual([1, 1, 1]);
    expect(rows()).toEqual([
      { k: 'k1', v: 1 },
      { k: 'k2', v: 2 },
      { k: 'k3', v: 3 },
    ]);
    expect(rollbacks.n).toBe(0);
  });

  it('a failing write is undone alone: its neighbours in the same batch still commit', async () => {
    const { db, w, ins, rows, rollbacks } = setup();
    let runs = 0;
    const results = await Promise.allSettled([
      w.run(() => {
        runs++;
        ins.run('a', 1);
      }),
      // writes a row, then fails: the row must not survive
      w.run(() => {
        ins.run('b', 2);
        ins.run('a', 9);
      }),
      w.run(() => {
        ins.run('c', 3);
        return 'ok';
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseFulfilledResult<string>).value).toBe('ok');
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    expect(rows()).toEqual([
      { k: 'a', v: 1 },
      { k: 'c', v: 3 },
    ]);
    expect(runs).toBe(2); // the batch ran again with a savepoint per write
    expect(rollbacks.n).toBe(2); // the whole first attempt, then the failing write's savepoint
    expect(db.inTransaction).toBe(false);
  });

  it('batches after a failed one run normally', async () => {
    const { w, ins, rows } = setup();
    await Promise.allSettled([w.run(() => ins.run('a', 1)), w.run(() => ins.run('a', 2))]);
    await w.run(() => ins.run('b', 2));
    expect(rows()).toEqual([
      { k: 'a', v: 1 },
      { k: 'b', v: 2 },
    ]);
  });
});
