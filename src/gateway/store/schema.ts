/**
 * SQLite schema. Versioned through PRAGMA user_version: a new database gets the latest schema
 * in one step, an older one runs the migrations after its version in order, each in the same
 * transaction as the version bump.
 */
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = 8;

/** The schema as version 1 created it (kept so migrations start from what is really on disk). */
export const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enroll_codes (
  code TEXT PRIMARY KEY, employee_id TEXT NOT NULL, display_name TEXT NOT NULL,
  expires_at INTEGER NOT NULL, used_at INTEGER);
CREATE TABLE IF NOT EXISTS devices (
  device_id TEXT PRIMARY KEY, employee_id TEXT NOT NULL, display_name TEXT NOT NULL,
  device_public_key TEXT NOT NULL, mls_signature_key TEXT NOT NULL, certificate TEXT NOT NULL,
  created_at INTEGER NOT NULL, revoked_at INTEGER);
CREATE INDEX IF NOT EXISTS devices_employee ON devices(employee_id);
CREATE TABLE IF NOT EXISTS contacts (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contact_members (
  contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE, employee_id TEXT NOT NULL,
  PRIMARY KEY (contact_id, employee_id));
CREATE TABLE IF NOT EXISTS partners (
  domain TEXT PRIMARY KEY, status TEXT NOT NULL, fingerprint TEXT, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS key_packages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, data TEXT NOT NULL,
  last_resort INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS key_packages_device ON key_packages(device_id, last_resort, id);
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY, epoch INTEGER NOT NULL, members TEXT NOT NULL, next_seq INTEGER NOT NULL,
  created_by TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS log (
  conv_id TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL, sender TEXT NOT NULL,
  kind TEXT NOT NULL, epoch INTEGER NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (conv_id, seq), UNIQUE (conv_id, message_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, kind TEXT NOT NULL,
  conv_id TEXT NOT NULL, hub TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL,
  epoch INTEGER NOT NULL, sender TEXT NOT NULL, payload TEXT, receipt_status TEXT, receipt_by TEXT, receipt_ids TEXT,
  created_at INTEGER NOT NULL, dedupe TEXT NOT NULL UNIQUE);
CREATE INDEX IF NOT EXISTS inbox_device ON inbox(device_id, id);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, peer TEXT NOT NULL, item TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_peer ON outbox(peer, id);
`;

/**
 * Version 2: three b-tree writes fewer per hub message.
 * - inbox.dedupe may be NULL and its unique index is partial. Rows a hub writes for its own
 *   devices need no dedupe key: the log's UNIQUE (conv_id, message_id) already refuses a retry
 *   before any inbox row is written. Deliveries from other gateways and receipts keep theirs.
 * - conversations.next_seq is gone: the next position is MAX(seq) + 1 of the log, read once
 *   per conversation and then kept in memory, so an application message no longer updates the
 *   conversation row. Whoever prunes the log one day must keep each conversation's last row,
 *   or positions would be handed out twice.
 * The inbox is rebuilt (SQLite cannot drop a column constraint) with its ids and its
 * AUTOINCREMENT high-water mark unchanged: devices page through the inbox by id, and an id
 * handed out before must never be handed out again.
 */
export const MIGRATE_V2 = `
CREATE TABLE inbox_v2 (
  id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, kind TEXT NOT NULL,
  conv_id TEXT NOT NULL, hub TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL,
  epoch INTEGER NOT NULL, sender TEXT NOT NULL, payload TEXT, receipt_status TEXT, receipt_by TEXT, receipt_ids TEXT,
  created_at INTEGER NOT NULL, dedupe TEXT);
INSERT INTO inbox_v2 SELECT id, device_id, kind, conv_id, hub, seq, message_id, epoch, sender, payload,
  receipt_status, receipt_by, receipt_ids, created_at, dedupe FROM inbox;
-- the old table's high-water mark, which may lie above every id still stored
INSERT INTO meta (key, value) SELECT 'migrate.inbox_seq', seq FROM sqlite_sequence WHERE name = 'inbox';
DROP TABLE inbox;
ALTER TABLE inbox_v2 RENAME TO inbox;
DELETE FROM sqlite_sequence WHERE name IN ('inbox', 'inbox_v2');
INSERT INTO sqlite_sequence (name, seq) SELECT 'inbox', MAX(COALESCE((SELECT MAX(id) FROM inbox), 0),
  COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'migrate.inbox_seq'), 0));
DELETE FROM meta WHERE key = 'migrate.inbox_seq';
CREATE INDEX inbox_device ON inbox(device_id, id);
CREATE UNIQUE INDEX inbox_dedupe ON inbox(dedupe) WHERE dedupe IS NOT NULL;
ALTER TABLE conversations DROP COLUMN next_seq;
`;

/**
 * Version 3: inbox ciphertexts are stored as their bytes (BLOB), no longer as the base64 text
 * they travel in: a 1 KB ciphertext takes 1,024 bytes instead of 1,368, and binding it skips
 * the UTF-8 conversion of the text (measured 5.6-6.2 us per 1 KB inbox insert as text, 3.6-5.0
 * as bytes). Readers encode them again (canonical padded base64, the same bytes). The column
 * keeps its declared type: a TEXT column stores BLOB values as they are, and rebuilding the
 * table would only rewrite every row again. Rows written before are converted here.
 */
export function migrateV3(db: Database.Database): void {
  const update = db.prepare('UPDATE inbox SET payload = ? WHERE id = ?');
  // in pages: a statement cannot write while another one still iterates
  const page = db.prepare("SELECT id, payload FROM inbox WHERE id > ? AND typeof(payload) = 'text' ORDER BY id LIMIT 1000");
  for (let after = 0; ; ) {
    const rows = page.all(after) as { id: number; payload: string }[];
    if (rows.length === 0) return;
    for (const r of rows) update.run(Buffer.from(r.payload, 'base64'), r.id);
    after = rows.at(-1)!.id;
  }
}

/**
 * Version 4 (issue 14, revocation and data at rest):
 * - revocations: a log the running server reads by its AUTOINCREMENT sequence. SQLite has one
 *   writer at a time, so sequence numbers become visible in order: a reader that has seen N has
 *   seen every revocation up to N, however late the revoking process got the lock. (A
 *   wall-clock cursor missed revocations stamped before the lock was granted.)
 * - enroll_codes holds the SHA-256 of each code, never the code: codes carry 80 bits of
 *   entropy, so an unsalted fast hash cannot be reversed by guessing. Codes written before are
 *   hashed here.
 * - log keeps only what the hub needs to answer a retry and to number the next message
 *   (conv_id, seq, message_id, sender, created_at); kind and epoch were never read.
 *   Rows are pruned after the retention period (SqliteStore.pruneLog).
 */
export function migrateV4(db: Database.Database): void {
  db.exec(`
CREATE TABLE revocations (seq INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, revoked_at INTEGER NOT NULL);
INSERT INTO revocations (device_id, revoked_at) SELECT device_id, revoked_at FROM devices WHERE revoked_at IS NOT NULL ORDER BY revoked_at;
CREATE INDEX devices_device_key ON devices(device_public_key);
CREATE INDEX devices_mls_key ON devices(mls_signature_key);
ALTER TABLE log DROP COLUMN kind;
ALTER TABLE log DROP COLUMN epoch;
`);
  const rows = db.prepare('SELECT rowid AS id, code FROM enroll_codes').all() as { id: number; code: string }[];
  const update = db.prepare('UPDATE enroll_codes SET code = ? WHERE rowid = ?');
  for (const r of rows) update.run(hashEnrollCode(r.code), r.id);
}

/** How enroll_codes stores a code: hex SHA-256 of its text. */
export const hashEnrollCode = (code: string): string => createHash('sha256').update(code, 'utf8').digest('hex');

/**
 * Version 5: federation nonces on disk. A nonce is kept until its request's timestamp has left
 * the accepted window, so a request captured and replayed after a restart is still refused.
 */
export const MIGRATE_V5 = `
CREATE TABLE fed_nonces (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX fed_nonces_expiry ON fed_nonces(expires_at);
`;

/**
 * Version 6: which local devices belong to which conversation hosted by another gateway, as
 * far as this gateway has seen: a Welcome that hub delivered to the device, or the device's
 * own sends forwarded to it. A partner's hub delivers commits and messages only to these
 * (issue 14, item 8). Filled from what the inbox still holds, so conversations whose entries
 * are waiting keep flowing after the upgrade.
 */
export const MIGRATE_V6 = `
CREATE TABLE remote_members (
  conv_id TEXT NOT NULL, hub TEXT NOT NULL, device_id TEXT NOT NULL,
  PRIMARY KEY (conv_id, hub, device_id)) WITHOUT ROWID;
INSERT OR IGNORE INTO remote_members SELECT conv_id, hub, device_id FROM inbox
  WHERE kind != 'receipt' AND conv_id NOT IN (SELECT id FROM conversations);
`;

/**
 * Version 7: employee identity certificates (issue 15), one per employee: the org certified
 * the identity key the employee's first device created. Its private key never comes here.
 */
export const MIGRATE_V7 = `
CREATE TABLE identities (
  employee_id TEXT PRIMARY KEY, identity_key TEXT NOT NULL, certificate TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
`;

/**
 * Version 8: link sessions (issue 15), in the store so that several gateway processes serve one
 * linking whichever of them B's requests and A's connection reach (PostgreSQL schema 5 is the
 * same). A session is filed under its code's locator until a device joins (then locator is NULL:
 * single use); its messages are ciphertext, at most LINK.messagesPerSession of them. Expired
 * sessions are pruned (jobs.ts linkSweep).
 */
export const MIGRATE_V8 = `
CREATE TABLE link_sessions (
  id TEXT PRIMARY KEY, locator TEXT UNIQUE, commitment TEXT NOT NULL, expires_at INTEGER NOT NULL,
  joined_by TEXT, certified INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE INDEX link_sessions_expiry ON link_sessions(expires_at);
CREATE TABLE link_messages (
  session_id TEXT NOT NULL REFERENCES link_sessions(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
  side TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (session_id, idx)) WITHOUT ROWID;
`;

/** Migrations by the version they lead to: SQL, or a function for what SQL cannot do. */
export const MIGRATIONS: Record<number, string | ((db: Database.Database) => void)> = {
  2: MIGRATE_V2,
  3: migrateV3,
  4: migrateV4,
  5: MIGRATE_V5,
  6: MIGRATE_V6,
  7: MIGRATE_V7,
  8: MIGRATE_V8,
};
