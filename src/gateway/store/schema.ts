/** SQLite schema. Versioned through PRAGMA user_version so later changes can migrate in order. */
export const SCHEMA_VERSION = 1;

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
