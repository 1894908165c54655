/**
 * Test organisations, built one way for every tier: a real Ed25519 org key, the org's manifest
 * signed with it and device certificates issued by it, all by the same code the gateway uses
 * (src/wire). The browser tier serves the manifest from the local site server at
 * https://<domain>/.well-known/kontor.json (`publish`); unit tests use the key and certificates
 * directly. A real gateway's devices come from test/gateway/helpers.ts (`newDevice`) instead.
 *
 * @example
 * const globex = await createOrg('globex.example', 'Globex GmbH');
 * const cert = await issueCertificate(globex, { deviceId: 'gina-1', employeeId: 'gina', displayName: 'Gina', devicePublicKey, mlsSignatureKey });
 */
import { CERT_TYPE, signCertificate, type Certificate } from '../../src/wire/certificate';
import { generateKeyPair, type Ed25519KeyPair } from '../../src/wire/ed25519';
import { fingerprint, MANIFEST_PATH, MANIFEST_TYPE, signManifest, type Manifest } from '../../src/wire/manifest';
import type { SiteServer } from './site-server';

/** What certificates need of an org: its domain and key. */
export interface Org {
  domain: string;
  key: Ed25519KeyPair;
}

export interface TestOrg extends Org {
  name: string;
  fingerprint: string;
  manifest: Manifest;
}

export interface OrgOptions {
  profiles?: string[];
  contacts?: { id: string; name: string }[];
  /** a fixed key (e.g. keyPairFromSeed for vectors, or a second org claiming the same key) */
  key?: Ed25519KeyPair;
  /** the manifest's clock (default now): issued a minute before, valid for 30 days */
  now?: Date;
}

export async function createOrg(domain: string, name: string, extra: OrgOptions = {}): Promise<TestOrg> {
  const key = extra.key ?? (await generateKeyPair());
  const now = (extra.now ?? new Date()).getTime();
  const manifest = await signManifest(
    {
      type: MANIFEST_TYPE,
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

export interface DeviceFields {
  deviceId: string;
  employeeId: string;
  displayName: string;
  devicePublicKey: string;
  mlsSignatureKey: string;
  /** default: a minute ago */
  issuedAt?: string;
  /** default: a day from now */
  expiresAt?: string;
}

/** A device certificate for `p`, signed by `org`'s key (what the gateway issues at enrollment). */
export async function issueCertificate(org: Org, p: DeviceFields): Promise<Certificate> {
  return signCertificate(
    {
      type: CERT_TYPE,
      v: 1,
      deviceId: p.deviceId,
      employeeId: p.employeeId,
      displayName: p.displayName,
      orgDomain: org.domain,
      devicePublicKey: p.devicePublicKey,
      mlsSignatureKey: p.mlsSignatureKey,
      issuedAt: p.issuedAt ?? new Date(Date.now() - 60_000).toISOString(),
      expiresAt: p.expiresAt ?? new Date(Date.now() + 86_400_000).toISOString(),
    },
    org.key.privateKey,
  );
}

/** Serves `manifest` (or whatever `body` returns) as the org's published manifest. */
export function publish(site: SiteServer, domain: string, body: () => unknown): void {
  site.route(domain, MANIFEST_PATH, () => ({ body: JSON.stringify(body()) }));
}
