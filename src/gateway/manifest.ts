/** Builds and signs the org manifest from the store; cached briefly because admins may edit contacts live. */
import { signManifest, MANIFEST_TYPE, type Manifest } from '../wire/manifest';
import type { Gateway } from './context';

const TTL_MS = 1_000;
const VALIDITY_MS = 7 * 86_400_000;
let cache: { at: number; m: Manifest } | null = null;

export async function currentManifest(gw: Gateway, now = Date.now()): Promise<Manifest> {
  if (cache && now - cache.at < TTL_MS) return cache.m;
  const contacts = (await gw.store.listContacts()).map((c) => ({ id: c.id, name: c.name }));
  const m = await signManifest(
    {
      type: MANIFEST_TYPE,
      version: 1,
      orgName: gw.config.orgName,
      domain: gw.config.domain,
      gatewayUrl: gw.publicUrl,
      orgPublicKey: gw.orgKey.publicKeyB64,
      contacts,
      profiles: gw.config.profiles,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + VALIDITY_MS).toISOString(),
    },
    gw.orgKey.privateKey,
  );
  cache = { at: now, m };
  return m;
}
