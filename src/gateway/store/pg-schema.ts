/**
 * PostgreSQL schema, versioned in the table kontor_schema. A new database runs every
 * migration, an older one those after its version, in order and all in one transaction.
 * Several instances may start at once: an advisory lock lets one migrate while the others
 * wait and then find the work done.
 *
 * Differences from the SQLite schema (store/schema.ts), each for running several instances:
 * - Inbox ids are numbered per device (inbox_heads), not by one global sequence. Devices page
 *   through their inbox by id; with a global sequence two transactions can commit in the other
 *   order than they drew their ids, and a device that had already paged past the later id
 *   would skip the earlier entry. The head row is locked until its transaction commits, so a
 *   device's ids become visible in increasing order.
 * - conversations.next_seq is back: the row is read FOR UPDATE, which serialises a
 *   conversation's messages across instances; an in-memory position would be wrong as soon
 *   as a second instance writes.
 */
import type { PoolClient } from 'pg';

export const PG_SCHEMA_VERSION = 6;

/** any fixed number: the key of the advisory lock held while migrating */
const MIGRATION_LOCK = 0x6b6f6e74;

export const PG_SCHEMA_V1 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE enroll_codes (
  code TEXT PRIMARY KEY, employee_id TEXT NOT NULL, display_name TEXT NOT NULL,
  expires_at BIGINT NOT NULL, used_at BIGINT);
CREATE TABLE devices (
  device_id TEXT PRIMARY KEY, employee_id TEXT NOT NULL, display_name TEXT NOT NULL,
  device_public_key TEXT NOT NULL, mls_signature_key TEXT NOT NULL, certificate TEXT NOT NULL,
  created_at BIGINT NOT NULL, revoked_at BIGINT);
CREATE INDEX devices_employee ON devices (employee_id);
CREATE INDEX devices_revoked ON devices (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE TABLE contacts (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE contact_members (
  contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE, employee_id TEXT NOT NULL,
  PRIMARY KEY (contact_id, employee_id));
CREATE TABLE partners (
  domain TEXT PRIMARY KEY, status TEXT NOT NULL, fingerprint TEXT, created_at BIGINT NOT NULL);
CREATE TABLE key_packages (
  id BIGSERIAL PRIMARY KEY, device_id TEXT NOT NULL, data TEXT NOT NULL, last_resort BOOLEAN NOT NULL DEFAULT false);
CREATE INDEX key_packages_device ON key_packages (device_id, last_resort, id);
CREATE TABLE conversations (
  id TEXT PRIMARY KEY, epoch INTEGER NOT NULL, members JSONB NOT NULL, next_seq BIGINT NOT NULL,
  created_by TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE log (
  conv_id TEXT NOT NULL, seq BIGINT NOT NULL, message_id TEXT NOT NULL, sender TEXT NOT NULL,
  kind TEXT NOT NULL, epoch INTEGER NOT NULL, created_at BIGINT NOT NULL,
  PRIMARY KEY (conv_id, seq), UNIQUE (conv_id, message_id));
CREATE TABLE inbox_heads (device_id TEXT PRIMARY KEY, last_id BIGINT NOT NULL);
CREATE TABLE inbox (
  device_id TEXT NOT NULL, id BIGINT NOT NULL, kind TEXT NOT NULL,
  conv_id TEXT NOT NULL, hub TEXT NOT NULL, seq BIGINT NOT NULL, message_id TEXT NOT NULL,
  epoch INTEGER NOT NULL, sender TEXT NOT NULL, payload BYTEA, receipt_status TEXT, receipt_by TEXT, receipt_ids TEXT,
  created_at BIGINT NOT NULL, dedupe TEXT,
  PRIMARY KEY (device_id, id));
CREATE UNIQUE INDEX inbox_dedupe ON inbox (dedupe) WHERE dedupe IS NOT NULL;
CREATE INDEX inbox_created ON inbox (created_at);
CREATE TABLE outbox (
  id BIGSERIAL PRIMARY KEY, peer TEXT NOT NULL, item TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX outbox_peer ON outbox (peer, id);
`;

/**
 * Version 2: what SQLite schemas 4 to 6 brought (issue 14), for several instances.
 * - revocations: read by sequence number. A sequence alone is not enough here: two
 *   transactions may draw 5 and 6 and commit 6 first, and a poll that saw 6 would never look
 *   at 5 again. PgStore.revokeDevice therefore draws its number under a transaction-level
 *   advisory lock, released only after the commit is visible: numbers become visible in order.
 * - enroll_codes holds SHA-256 (hex) of each code, as SQLite does (schema.hashEnrollCode);
 *   codes written before are hashed here.
 * - the devices' key indexes serve the one-enrollment-per-key check.
 * - log keeps only what answers a retry (kind and epoch were never read); pruned after the
 *   retention period (PgStore.pruneLog).
 * - fed_nonces: replay protection shared by every instance and kept across restarts.
 * - remote_members: local devices of conversations other gateways host (SQLite schema 6),
 *   filled from what the inboxes still hold.
 */
export const PG_MIGRATE_V2 = `
CREATE TABLE revocations (seq BIGSERIAL PRIMARY KEY, device_id TEXT NOT NULL, revoked_at BIGINT NOT NULL);
INSERT INTO revocations (device_id, revoked_at) SELECT device_id, revoked_at FROM devices WHERE revoked_at IS NOT NULL ORDER BY revoked_at, device_id;
CREATE INDEX devices_device_key ON devices (device_public_key);
CREATE INDEX devices_mls_key ON devices (mls_signature_key);
UPDATE enroll_codes SET code = encode(sha256(convert_to(code, 'UTF8')), 'hex');
ALTER TABLE log DROP COLUMN kind, DROP COLUMN epoch;
CREATE TABLE fed_nonces (key TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
CREATE INDEX fed_nonces_expiry ON fed_nonces (expires_at);
CREATE TABLE remote_members (
  conv_id TEXT NOT NULL, hub TEXT NOT NULL, device_id TEXT NOT NULL,
  PRIMARY KEY (conv_id, hub, device_id));
INSERT INTO remote_members SELECT DISTINCT conv_id, hub, device_id FROM inbox
  WHERE kind <> 'receipt' AND conv_id NOT IN (SELECT id FROM conversations);
`;

/**
 * Version 3: rate limits shared by the instances (pg-limits.ts). UNLOGGED: a limit need not
 * survive a database crash, and a take costs no WAL flush.
 */
export const PG_MIGRATE_V3 = `
CREATE UNLOGGED TABLE rate_buckets (key TEXT PRIMARY KEY, tokens FLOAT8 NOT NULL, at BIGINT NOT NULL, full_at BIGINT NOT NULL);
CREATE INDEX rate_buckets_full ON rate_buckets (full_at);
`;

/**
 * Version 4: employee identity certificates (issue 15; SQLite schema 7), one per employee: the
 * org certified the identity key the employee's first device created.
 */
export const PG_MIGRATE_V4 = `
CREATE TABLE identities (
  employee_id TEXT PRIMARY KEY, identity_key TEXT NOT NULL, certificate TEXT NOT NULL, created_at BIGINT NOT NULL);
`;

/**
 * Version 6: link sessions (issue 15; SQLite schema 8), shared by every instance: filed under
 * the code's locator until a device joins (then NULL: single use), their messages ciphertext.
 * Expired sessions are pruned (jobs.ts linkSweep). Logged tables: a session lasts ten minutes,
 * but an acknowledged join or certificate must not come undone after a database crash.
 */
export const PG_MIGRATE_V5 = `
CREATE TABLE link_sessions (
  id TEXT PRIMARY KEY, locator TEXT UNIQUE, commitment TEXT NOT NULL, expires_at BIGINT NOT NULL,
  joined_by TEXT, certified BOOLEAN NOT NULL DEFAULT false);
CREATE INDEX link_sessions_expiry ON link_sessions (expires_at);
CREATE TABLE link_messages (
  session_id TEXT NOT NULL REFERENCES link_sessions (id) ON DELETE CASCADE, idx INTEGER NOT NULL,
  side TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (session_id, idx));
`;

/**
 * Version 6: a way for one statement to give up as a whole (pg-submit.ts): the hub's write
 * calls it when a conversation moved after the batch was read, and the statement's every
 * effect is undone. SQLSTATE 40001 (serialization_failure): the caller reads and tries again.
 */
export const PG_MIGRATE_V6 = `
CREATE FUNCTION kontor_moved() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION 'a conversation moved since the batch was read' USING ERRCODE = '40001';
END $$;
`;

/** Migrations by the version they lead to; every version from 1 up has one. */
export const PG_MIGRATIONS: Record<number, string> = {
  1: PG_SCHEMA_V1,
  2: PG_MIGRATE_V2,
  3: PG_MIGRATE_V3,
  4: PG_MIGRATE_V4,
  5: PG_MIGRATE_V5,
  6: PG_MIGRATE_V6,
};

/** Brings the database to PG_SCHEMA_VERSION; throws if it is newer than this gateway. */
export async function migratePg(c: PoolClient): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await c.query('CREATE TABLE IF NOT EXISTS kontor_schema (version INTEGER NOT NULL)');
    const r = await c.query<{ version: number }>('SELECT version FROM kontor_schema');
    const version = r.rows[0]?.version ?? 0;
    if (version > PG_SCHEMA_VERSION) throw new Error(`database schema ${version} is newer than this gateway (${PG_SCHEMA_VERSION})`);
    for (let v = version + 1; v <= PG_SCHEMA_VERSION; v++) {
      const step = PG_MIGRATIONS[v];
      if (step === undefined) throw new Error(`no migration to schema ${v}`);
      await c.query(step);
    }
    if (r.rows.length === 0) await c.query('INSERT INTO kontor_schema (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
    else await c.query('UPDATE kontor_schema SET version = $1', [PG_SCHEMA_VERSION]);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK');
    throw e;
  }
}
