/**
 * The org identity key: created on first start, kept in the data directory (mode 0600), or in
 * one secret file given to every instance (--org-key-file) when several serve the org. It is
 * never written to the database.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync, renameSync, linkSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { exportPrivateJwk, generateKeyPair, importPrivateJwk, type Ed25519KeyPair } from '../wire/ed25519';
import { ConfigError } from './config';

export const ORG_KEY_FILE = 'org-key.jwk.json';

export async function loadOrCreateOrgKey(
  dataDir: string,
  keyFile: string | null = null,
): Promise<{ key: Ed25519KeyPair; created: boolean }> {
  if (keyFile !== null) return loadOrCreateShared(keyFile);
  const file = path.join(dataDir, ORG_KEY_FILE);
  // an older gateway may have left it readable by others
  if (existsSync(file)) chmodSync(file, 0o600);
  if (existsSync(file)) return { key: await importPrivateJwk(JSON.parse(readFileSync(file, 'utf8'))), created: false };
  const kp = await generateKeyPair(true);
  const jwk = await exportPrivateJwk(kp.privateKey);
  // write-then-rename so a crash never leaves a half-written key
  writeFileSync(file + '.tmp', JSON.stringify(jwk), { mode: 0o600 });
  renameSync(file + '.tmp', file);
  return { key: await importPrivateJwk(jwk), created: true };
}

/**
 * The shared key file. Instances starting together on an empty file path must not each make
 * their own key: the new key is written to a private temporary file and linked into place,
 * which fails if another instance got there first; then that one's key is read.
 */
async function loadOrCreateShared(file: string): Promise<{ key: Ed25519KeyPair; created: boolean }> {
  let created = false;
  if (!existsSync(file)) {
    const jwk = await exportPrivateJwk((await generateKeyPair(true)).privateKey);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(jwk), { mode: 0o600 });
    try {
      linkSync(tmp, file);
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      unlinkSync(tmp);
    }
  }
  // a secret readable by other users is refused rather than used
  if ((statSync(file).mode & 0o077) !== 0) throw new ConfigError(`--org-key-file ${file} is readable by other users: chmod 600 it`);
  try {
    return { key: await importPrivateJwk(JSON.parse(readFileSync(file, 'utf8'))), created };
  } catch (e) {
    throw new ConfigError(`--org-key-file ${file} holds no private Ed25519 JWK: ${(e as Error).message}`);
  }
}
