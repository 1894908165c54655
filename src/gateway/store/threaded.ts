/**
 * The server's Store: SqliteStore running on a worker thread. The main thread only parses,
 * validates and routes; SQLite work and the fsync of each group commit happen on the worker,
 * so the event loop keeps reading sockets while a transaction is being made durable.
 * Durability is unchanged: a write's promise resolves only after the worker's COMMIT
 * (WAL, synchronous=FULL) returned. Calls of one main-thread turn travel in one message.
 *
 * The reads on every federated message's path (sqlite-reads.ts) are answered on this thread,
 * from a query-only connection opened once the worker has the database ready: each round trip
 * to the worker costs two thread wake-ups, on this machine about half a millisecond each when
 * the threads were idle. Should such a read meet a lock, the worker answers it instead.
 */
import Database from 'better-sqlite3';
import { startWorker } from './start-worker';
import type { Store } from './types';
import { decodeResult, encodeArgs, type StoreCall, type StoreMethod, type StoreReply } from './threaded-protocol';
import { readConversation, readOutbox, readPartner } from './sqlite-reads';

const METHODS = [
  'createEnrollCode',
  'getEnrollCode',
  'enrollDevice',
  'addDevice',
  'getDevice',
  'listDevices',
  'revokeDevice',
  'revocationSeq',
  'revocationsAfter',
  'upsertContact',
  'setContactMembers',
  'removeContact',
  'listContacts',
  'getContact',
  'setPartner',
  'getPartner',
  'listPartners',
  'removePartner',
  'getIdentity',
  'removeIdentity',
  'addKeyPackages',
  'countKeyPackages',
  'claimKeyPackages',
  'createConversation',
  'getConversation',
  'submitToHub',
  'storeDeliveries',
  'addRemoteMember',
  'isRemoteMember',
  'storeReceipts',
  'fetchInbox',
  'ackInbox',
  'enqueueOutbox',
  'peekOutbox',
  'deleteOutbox',
  'outboxPeers',
  'expireInbox',
  'pruneLog',
  'useNonce',
  'storeFromPeer',
  'openLinkSession',
  'joinLinkSession',
  'postLinkMessage',
  'readLinkMessages',
  'certifyLinkSession',
  'pruneLinkSessions',
  'getMeta',
  'setMeta',
] as const satisfies readonly StoreMethod[];
// compile-time check that every Store method is forwarded
const complete: [Exclude<StoreMethod, (typeof METHODS)[number]>] extends [never] ? true : never = true;
void complete;

/** An error thrown by the store on the worker thread, rethrown here with its name and message. */
export class StoreWorkerError extends Error {
  constructor(
    readonly remoteName: string,
    message: string,
  ) {
    super(message);
    this.name = 'StoreWorkerError';
  }
}

export function openThreadedStore(file: string): Store {
  const worker = startWorker('./store-worker', import.meta.url, { file });
  const pending = new Map<number, { method: StoreMethod; args: unknown[]; resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let queue: StoreCall[] = [];
  let nextId = 1;
  let dead: Error | null = null;
  let reader: Database.Database | null | undefined;
  const local: Partial<Record<StoreMethod, (db: Database.Database, args: unknown[]) => unknown>> = {
    getPartner: (db, [domain]) => readPartner(db, domain as string),
    getConversation: (db, [id]) => readConversation(db, id as string),
    peekOutbox: (db, [peer, limit, afterId]) => readOutbox(db, peer as string, limit as number, afterId as number | undefined),
  };

  worker.on('message', (replies: StoreReply[]) => {
    // the first answer means the worker has opened (and migrated) the file
    if (reader === undefined) {
      try {
        // timeout 0: a locked read goes to the worker rather than block this thread
        reader = new Database(file, { fileMustExist: true, timeout: 0 });
        reader.pragma('query_only = ON');
      } catch {
        reader = null;
      }
    }
    for (const [id, ok, value] of replies) {
      const p = pending.get(id);
      if (!p) continue;
      pending.delete(id);
      if (ok) p.resolve(decodeResult(p.method, p.args, value));
      else {
        const e = value as { name: string; message: string };
        p.reject(new StoreWorkerError(e.name, e.message));
      }
    }
  });
  const die = (e: Error) => {
    dead = e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  let closing = false;
  worker.on('error', (e) => {
    die(e);
    // a gateway without its database can do nothing: fail loudly so a supervisor restarts it
    if (!closing) throw e;
  });
  worker.on('exit', (code) => die(new Error(`store worker exited (${code})`)));

  const flush = () => {
    const batch = queue;
    queue = [];
    worker.postMessage(batch);
  };
  const call = (method: StoreMethod, args: unknown[]) => {
    const read = local[method];
    if (reader && read && !dead) {
      try {
        return Promise.resolve(read(reader, args));
      } catch {
        // e.g. SQLITE_BUSY during a checkpoint's restart: the worker waits for the lock instead
      }
    }
    return new Promise((resolve, reject) => {
      if (dead) return reject(dead);
      const id = nextId++;
      pending.set(id, { method, args, resolve, reject });
      // everything asked for during this turn goes to the worker in one message
      if (queue.push([id, method, encodeArgs(method, args)]) === 1) setImmediate(flush);
    });
  };

  const store = Object.fromEntries(METHODS.map((m) => [m, (...args: unknown[]) => call(m, args)])) as unknown as Store;
  store.close = () => {
    closing = true;
    reader?.close();
    if (queue.length) flush();
    // the worker finishes what it was sent, closes the database and ends
    worker.postMessage('close');
  };
  return store;
}
