/**
 * The PostgreSQL store's link sessions (issue 15; pg-schema.ts version 5), shared by every
 * instance: B's HTTP requests and A's connection may reach different ones. What SQLite gets
 * from having one writer is explicit here: a join is one UPDATE that re-checks its row after
 * waiting for a racing one. A message's index is the count before it and (session, index) is
 * the primary key, so two instances can never store one index twice or pass the caps together;
 * the session row lock in post makes a racing post wait instead of failing and being re-run.
 */
import type { Pool } from 'pg';
import { LINK, type LinkReadResult } from '../../wire/link';
import { unavailable, type PgWriteBatcher } from './pg-batch';
import type { LinkJoinResult, LinkPostResult, LinkSessionOpen, LinkSide } from './types';

type Row = Record<string, unknown>;

/** A's side must be the device that joined; B's side ($3 NULL) is whoever holds the id */
const LIVE = 'SELECT joined_by, certified FROM link_sessions WHERE id = $1 AND expires_at > $2 AND ($3::text IS NULL OR joined_by = $3)';

export class PgLinks {
  constructor(
    private readonly pool: Pool,
    private readonly w: PgWriteBatcher,
  ) {}

  open(s: LinkSessionOpen, now: number, maxLive: number): Promise<'ok' | 'conflict' | 'full'> {
    return this.w.run(async (x) => {
      await x.query('DELETE FROM link_sessions WHERE locator = $1 AND expires_at <= $2', [s.locator, now]);
      // instances opening at once may each pass at maxLive - 1: the cap bounds the table, it need not be exact
      const live = (await x.query('SELECT count(*)::int AS n FROM link_sessions WHERE expires_at > $1', [now])).rows[0] as { n: number };
      if (live.n >= maxLive) return 'full';
      // the unique locator decides between instances opening one code at once
      const r = await x.query(
        'INSERT INTO link_sessions (id, locator, commitment, expires_at) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING',
        [s.sessionId, s.locator, s.commitment, s.expiresAt],
      );
      return r.rowCount ? 'ok' : 'conflict';
    });
  }

  join(locator: string, deviceId: string, now: number): Promise<LinkJoinResult> {
    return this.w.run(async (x): Promise<LinkJoinResult> => {
      // a racing join waits for this row's lock, then finds locator NULL and matches nothing
      const r = (
        await x.query(
          `UPDATE link_sessions SET joined_by = $1, locator = NULL
          WHERE locator = $2 AND expires_at > $3 AND joined_by IS NULL RETURNING id, commitment, expires_at`,
          [deviceId, locator, now],
        )
      ).rows[0] as Row | undefined;
      return r
        ? { ok: true, sessionId: r.id as string, commitment: r.commitment as string, expiresAt: r.expires_at as number }
        : { ok: false };
    });
  }

  post(sessionId: string, side: LinkSide, body: string, now: number): Promise<LinkPostResult> {
    return this.w.run(async (x): Promise<LinkPostResult> => {
      const s = (await x.query(`${LIVE} FOR UPDATE`, [sessionId, now, side.deviceId])).rows[0] as Row | undefined;
      if (!s) return { ok: false, code: 'not_found' };
      const c = (
        await x.query(
          "SELECT count(*)::int AS n, (count(*) FILTER (WHERE side = 'b'))::int AS b FROM link_messages WHERE session_id = $1",
          [sessionId],
        )
      ).rows[0] as { n: number; b: number };
      if (c.n >= LINK.messagesPerSession) return { ok: false, code: 'full' };
      if (side.deviceId === null && (s.joined_by === null || c.b >= LINK.postsByB)) return { ok: false, code: 'not_yet' };
      await x.query('INSERT INTO link_messages (session_id, idx, side, body) VALUES ($1,$2,$3,$4)', [
        sessionId,
        c.n,
        side.deviceId === null ? 'b' : 'a',
        body,
      ]);
      return { ok: true, index: c.n };
    });
  }

  async read(sessionId: string, side: LinkSide, after: number, now: number): Promise<LinkReadResult | null> {
    try {
      const s = (await this.pool.query(LIVE, [sessionId, now, side.deviceId])).rows[0] as Row | undefined;
      if (!s) return null;
      const rows = (
        await this.pool.query('SELECT idx, body FROM link_messages WHERE session_id = $1 AND side = $2 AND idx > $3 ORDER BY idx', [
          sessionId,
          side.deviceId === null ? 'a' : 'b',
          after,
        ])
      ).rows as Row[];
      return { messages: rows.map((r) => ({ index: r.idx as number, body: r.body as string })), certified: s.certified as boolean };
    } catch (e) {
      throw unavailable(e);
    }
  }

  certify(sessionId: string, deviceId: string, now: number): Promise<'ok' | 'not_found' | 'conflict'> {
    return this.w.run(async (x) => {
      const s = (await x.query(`${LIVE} FOR UPDATE`, [sessionId, now, deviceId])).rows[0] as Row | undefined;
      if (!s) return 'not_found';
      if (s.certified) return 'conflict';
      await x.query('UPDATE link_sessions SET certified = true WHERE id = $1', [sessionId]);
      return 'ok';
    });
  }

  prune(now: number): Promise<number> {
    // messages go with their session (ON DELETE CASCADE)
    return this.w.run(async (x) => (await x.query('DELETE FROM link_sessions WHERE expires_at <= $1', [now])).rowCount ?? 0);
  }
}
