/**
 * Test organisations: a real Ed25519 org key and a manifest signed with it by the same
 * code the gateway uses (src/wire/manifest.ts), served by the local site server at
 * https://<domain>/.well-known/kontor.json.
 */
import { generateKeyPair, type Ed25519KeyPair } from '../../../src/wire/ed25519';
import { fingerprint, MANIFEST_PATH, signManifest, type Manifest } from '../../../src/wire/manifest';
import type { SiteServer } from './site-server';

export interface TestOrg {
  domain: string;
  name: string;
  key: Ed25519KeyPair;
  fingerprint: string;
  manifest: Manifest;
}

export async function createOrg(domain: string, name: string, extra: { profiles?: string[]; contacts?: { id: string; name: string }[]; key?: Ed25519KeyPair } = {}): Promise<TestOrg> {
  const key = extra.key ?? (await generateKeyPair());
  const now = Date.now();
  const manifest = await signManifest(
    {
      type: 'kontor.manifest',
      version: 1,
      orgName: name,
      domain,
      gatewayUrl: `https://gateway.${domain}`,
      orgPublicKey: key.publicKeyB64,
      contacts: extra.contacts ?? [{ id: 'sales', name: 'Sales' }],
      profiles: extra.profiles ?? [],
      issuedAt: new Date(now - 60_000).toISOString(),
      expiresAt: new Date(now + 30 * 86_400_000).toISOString(),
    },
    key.privateKey,
  );
  return { domain, name, key, fingerprint: await fingerprint(key.publicKeyB64), manifest };
}

/** Serves `manifest` (or whatever `body` returns) as the org's published manifest. */
export function publish(site: SiteServer, domain: string, body: () => unknown): void {
  site.route(domain, MANIFEST_PATH, () => ({ body: JSON.stringify(body()) }));
}
