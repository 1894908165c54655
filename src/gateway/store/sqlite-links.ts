/**
 * The SQLite store's link sessions (issue 15; schema.ts version 8). One writer at a time, so
 * each write below is one decision nobody can race: the single join, the message caps, the
 * one certificate.
 */
import type Database from 'better-sqlite3';
import { LINK, type LinkReadResult } from '../../wire/link';
import type { WriteBatcher } from './batch';
import type { LinkJoinResult, LinkPostResult, LinkSessionOpen, LinkSide } from './types';

type Row = Record<string, unknown>;

export class SqliteLinks {
  private readonly s: Record<'live' | 'messages' | 'count', Database.Statement>;

  constructor(
    private readonly db: Database.Database,
    private readonly w: WriteBatcher,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      // A's side must be the device that joined; B's side (null) is whoever holds the id
      live: p('SELECT joined_by, certified FROM link_sessions WHERE id = ? AND expires_at > ? AND (? IS NULL OR joined_by = ?)'),
      messages: p('SELECT idx, body FROM link_messages WHERE session_id = ? AND side = ? AND idx > ? ORDER BY idx'),
      count: p("SELECT count(*) AS n, count(*) FILTER (WHERE side = 'b') AS b FROM link_messages WHERE session_id = ?"),
    };
  }

  private live(sessionId: string, side: LinkSide, now: number): Row | undefined {
    return this.s.live.get(sessionId, now, side.deviceId, side.deviceId) as Row | undefined;
  }

  open(s: LinkSessionOpen, now: number, maxLive: number): Promise<'ok' | 'conflict' | 'full'> {
    return this.w.run(() => {
      this.db.prepare('DELETE FROM link_sessions WHERE locator = ? AND expires_at <= ?').run(s.locator, now);
      const live = this.db.prepare('SELECT count(*) AS n FROM link_sessions WHERE expires_at > ?').get(now) as { n: number };
      if (live.n >= maxLive) return 'full';
      const added = this.db
        .prepare('INSERT OR IGNORE INTO link_sessions (id, locator, commitment, expires_at) VALUES (?,?,?,?)')
        .run(s.sessionId, s.locator, s.commitment, s.expiresAt).changes;
      return added ? 'ok' : 'conflict';
    });
  }

  join(locator: string, deviceId: string, now: number): Promise<LinkJoinResult> {
    return this.w.run(() => {
      const r = this.db
        .prepare(`UPDATE link_sessions SET joined_by = ?, locator = NULL
        WHERE locator = ? AND expires_at > ? AND joined_by IS NULL RETURNING id, commitment, expires_at`)
        .get(deviceId, locator, now) as Row | undefined;
      return r
        ? { ok: true, sessionId: r.id as string, commitment: r.commitment as string, expiresAt: r.expires_at as number }
        : { ok: false };
    });
  }

  post(sessionId: string, side: LinkSide, body: string, now: number): Promise<LinkPostResult> {
    return this.w.run((): LinkPostResult => {
      const s = this.live(sessionId, side, now);
      if (!s) return { ok: false, code: 'not_found' };
      const c = this.s.count.get(sessionId) as { n: number; b: number };
      if (c.n >= LINK.messagesPerSession) return { ok: false, code: 'full' };
      if (side.deviceId === null && (s.joined_by === null || c.b >= LINK.postsByB)) return { ok: false, code: 'not_yet' };
      this.db
        .prepare('INSERT INTO link_messages (session_id, idx, side, body) VALUES (?,?,?,?)')
        .run(sessionId, c.n, side.deviceId === null ? 'b' : 'a', body);
      return { ok: true, index: c.n };
    });
  }

  async read(sessionId: string, side: LinkSide, after: number, now: number): Promise<LinkReadResult | null> {
    const s = this.live(sessionId, side, now);
    if (!s) return null;
    const rows = this.s.messages.all(sessionId, side.deviceId === null ? 'a' : 'b', after) as Row[];
    return { messages: rows.map((r) => ({ index: r.idx as number, body: r.body as string })), certified: s.certified === 1 };
  }

  certify(sessionId: string, deviceId: string, now: number): Promise<'ok' | 'not_found' | 'conflict'> {
    return this.w.run(() => {
      const s = this.live(sessionId, { deviceId }, now);
      if (!s) return 'not_found';
      if (s.certified === 1) return 'conflict';
      this.db.prepare('UPDATE link_sessions SET certified = 1 WHERE id = ?').run(sessionId);
      return 'ok';
    });
  }

  prune(now: number): Promise<number> {
    // messages go with their session (ON DELETE CASCADE)
    return this.w.run(() => this.db.prepare('DELETE FROM link_sessions WHERE expires_at <= ?').run(now).changes);
  }
}
