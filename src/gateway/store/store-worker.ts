/**
 * The SQLite store on its own thread (see threaded.ts). Calls arrive in batches, one per turn
 * of the main thread; writes go through the SqliteStore's group commit, so one transaction
 * (one fsync) covers everything that arrived while the previous one was committing. A write's
 * reply is posted only after its COMMIT returned, exactly as before.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from './sqlite';
import { decodeArgs, encodeResult, type StoreCall, type StoreReply } from './threaded-protocol';

const port = parentPort!;
const store = new SqliteStore(workerData.file as string, true);
const methods = store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;

let out: StoreReply[] = [];
function reply(r: StoreReply): void {
  // replies settled in one microtask drain (one commit) leave in one message
  if (out.push(r) === 1)
    queueMicrotask(() => {
      const batch = out;
      out = [];
      port.postMessage(batch);
    });
}
const fail = (id: number, e: unknown) =>
  reply([id, false, { name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) }]);

port.on('message', (msg: StoreCall[] | 'close') => {
  if (msg === 'close') {
    store.close();
    port.close();
    return;
  }
  for (const [id, method, args] of msg) {
    try {
      methods[method]!.apply(store, decodeArgs(method, args)).then(
        (v) => reply([id, true, encodeResult(method, v)]),
        (e) => fail(id, e),
      );
    } catch (e) {
      fail(id, e);
    }
  }
});
