/**
 * Fetching and caching partners' signed org manifests
 * (`https://<domain>/.well-known/kontor.json`, format in docs/manifest.md). Only ever called
 * for a known partner (or when the employee asks about a company): never because a page
 * was visited, except to refresh a known partner's expired cache.
 */
import { KontorError } from '../../shared/errors';
import { CappedFetchError, fetchJson, MANIFEST_MAX_BYTES } from '../../wire/fetch';
import { fingerprint, MANIFEST_PATH, ManifestError, verifyManifest } from '../../wire/manifest';
import { storage, type EntryValue } from '../storage';

/** A verified manifest as cached (storage/records.ts). */
export type CachedManifest = EntryValue<'manifest'>;

export { normalizeFingerprint } from '../../wire/manifest';

export function manifestUrl(domain: string): string {
  return `https://${domain}${MANIFEST_PATH}`;
}

/** Fetches and verifies (shape, self-signature, validity, domain); does not check pins. */
export async function fetchManifest(domain: string): Promise<CachedManifest> {
  let r: { status: number; json: unknown };
  try {
    r = await fetchJson(manifestUrl(domain), { maxBytes: MANIFEST_MAX_BYTES, init: { credentials: 'omit', cache: 'no-store' } });
  } catch (error) {
    if (error instanceof CappedFetchError && (error.code === 'network' || error.code === 'timeout')) {
      throw new KontorError('unavailable', `could not reach ${domain}`, { cause: error });
    }
    throw new KontorError('bad_request', `manifest of ${domain} is unusable: ${(error as Error).message}`, { cause: error });
  }
  if (r.status !== 200) throw new KontorError('not_found', `${domain} publishes no Kontor manifest (HTTP ${r.status})`);
  try {
    const manifest = await verifyManifest(r.json, { domain });
    return {
      manifest,
      fingerprint: await fingerprint(manifest.orgPublicKey),
      fetchedAt: Date.now(),
      expiresAt: Date.parse(manifest.expiresAt),
    };
  } catch (error) {
    if (error instanceof ManifestError)
      throw new KontorError('bad_request', `manifest of ${domain} rejected: ${error.message}`, { cause: error });
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
