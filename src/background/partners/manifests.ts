/**
 * Fetching and caching partners' signed org manifests
 * (`https://<domain>/.well-known/kontor.json`, format in docs/manifest.md). Only ever called
 * for a known partner (or when the employee asks about a company): never because a page
 * was visited, except to refresh a known partner's expired cache.
 */
import { KontorError } from '../../shared/errors';
import { fingerprint, MANIFEST_PATH, ManifestError, verifyManifest } from '../../wire/manifest';
import { storage, type EntryValue } from '../storage';

const MAX_BYTES = 64 * 1024;

/** A verified manifest as cached (storage/records.ts). */
export type CachedManifest = EntryValue<'manifest'>;

/** Fingerprints compare without spaces, colons or case: admins paste them in many forms. */
export function normalizeFingerprint(fp: string): string {
  return fp.replace(/[\s:]/g, '').toLowerCase();
}

export function manifestUrl(domain: string): string {
  return `https://${domain}${MANIFEST_PATH}`;
}

/** Fetches and verifies (shape, self-signature, validity, domain); does not check pins. */
export async function fetchManifest(domain: string): Promise<CachedManifest> {
  let response: Response;
  try {
    response = await fetch(manifestUrl(domain), { credentials: 'omit', cache: 'no-store', redirect: 'error', signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new KontorError('unavailable', `could not reach ${domain}`, { cause: error });
  }
  if (!response.ok) throw new KontorError('not_found', `${domain} publishes no Kontor manifest (HTTP ${response.status})`);
  const text = await response.text();
  if (text.length > MAX_BYTES) throw new KontorError('bad_request', `manifest of ${domain} is too large`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KontorError('bad_request', `manifest of ${domain} is not JSON`);
  }
  try {
    const manifest = await verifyManifest(json, { domain });
    return { manifest, fingerprint: await fingerprint(manifest.orgPublicKey), fetchedAt: Date.now(), expiresAt: Date.parse(manifest.expiresAt) };
  } catch (error) {
    if (error instanceof ManifestError) throw new KontorError('bad_request', `manifest of ${domain} rejected: ${error.message}`, { cause: error });
    throw error;
  }
}

export async function getCachedManifest(domain: string): Promise<CachedManifest | undefined> {
  return storage.getEntry('manifest', domain);
}

export async function storeManifest(domain: string, cached: CachedManifest): Promise<void> {
  await storage.setEntries('manifest', { [domain]: cached });
}

export async function dropManifest(domain: string): Promise<void> {
  await storage.removeEntry('manifest', domain);
}
