/** The org identity key: created on first start, kept in the data directory (mode 0600). */
import { chmodSync, existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { exportPrivateJwk, generateKeyPair, importPrivateJwk, type Ed25519KeyPair } from '../wire/ed25519';

export const ORG_KEY_FILE = 'org-key.jwk.json';

export async function loadOrCreateOrgKey(dataDir: string): Promise<{ key: Ed25519KeyPair; created: boolean }> {
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
