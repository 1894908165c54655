/**
 * The reads on every federated message's path (partner admission, the conversation check,
 * the outbox peek) as functions of a connection: the store's own on its worker thread, and a
 * second, query-only connection on the main thread (threaded.ts), which answers them without
 * a round trip to the worker. WAL lets that connection read while the worker writes; it sees
 * every commit whose promise has resolved.
 */
import type Database from 'better-sqlite3';
import type { Conversation, OutboxItem, OutboxRow, Partner, PartnerStatus } from './types';

type Row = Record<string, unknown>;

const SQL = {
  partner: 'SELECT * FROM partners WHERE domain = ?',
  conv: 'SELECT * FROM conversations WHERE id = ?',
  outbox: 'SELECT id, peer, item FROM outbox WHERE peer = ? AND id > ? ORDER BY id LIMIT ?',
} as const;

const prepared = new WeakMap<Database.Database, Record<keyof typeof SQL, Database.Statement>>();
function stmt(db: Database.Database, name: keyof typeof SQL): Database.Statement {
  let s = prepared.get(db);
  if (!s) {
    s = { partner: db.prepare(SQL.partner), conv: db.prepare(SQL.conv), outbox: db.prepare(SQL.outbox) };
    prepared.set(db, s);
  }
  return s[name];
}

export function readPartner(db: Database.Database, domain: string): Partner | null {
  const r = stmt(db, 'partner').get(domain) as Row | undefined;
  return r
    ? {
        domain,
        status: r.status as PartnerStatus,
        fingerprint: (r.fingerprint as string | null) ?? null,
        createdAt: r.created_at as number,
      }
    : null;
}

export function readConversation(db: Database.Database, id: string): Conversation | null {
  const r = stmt(db, 'conv').get(id) as Row | undefined;
  return r ? { id, epoch: r.epoch as number, members: JSON.parse(r.members as string), createdBy: r.created_by as string } : null;
}

export function readOutbox(db: Database.Database, peer: string, limit: number, afterId = 0): OutboxRow[] {
  return (stmt(db, 'outbox').all(peer, afterId, limit) as Row[]).map((r) => ({
    id: r.id as number,
    peer: r.peer as string,
    item: JSON.parse(r.item as string) as OutboxItem,
  }));
}
