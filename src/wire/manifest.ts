/** The org manifest served at https://<domain>/.well-known/kontor.json (format: docs/manifest.md). */
import * as v from 'valibot';
import { DisplayName, Domain, HttpsUrl, Ident, IsoTime, PublicKeyB64, SignatureB64 } from './schemas';
import { signDocument, verifyDocument } from './signed';
import { fromBase64, sha256, toHex } from './bytes';

export const MANIFEST_TYPE = 'kontor.manifest';
export const MANIFEST_PATH = '/.well-known/kontor.json';

export const ManifestContact = v.strictObject({ id: Ident, name: DisplayName });

export const UnsignedManifest = v.strictObject({
  type: v.literal(MANIFEST_TYPE),
  version: v.literal(1),
  orgName: DisplayName,
  domain: Domain,
  gatewayUrl: HttpsUrl,
  orgPublicKey: PublicKeyB64,
  contacts: v.pipe(v.array(ManifestContact), v.maxLength(256)),
  profiles: v.pipe(v.array(HttpsUrl), v.maxLength(32)),
  issuedAt: IsoTime,
  expiresAt: IsoTime,
});
export const Manifest = v.strictObject({ ...UnsignedManifest.entries, signature: SignatureB64 });

export type UnsignedManifest = v.InferOutput<typeof UnsignedManifest>;
export type Manifest = v.InferOutput<typeof Manifest>;

export class ManifestError extends Error {
  override name = 'ManifestError';
  constructor(
    readonly code: 'malformed' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'wrong_domain' | 'key_mismatch',
    message: string,
  ) {
    super(message);
  }
}

export async function signManifest(m: UnsignedManifest, orgKey: CryptoKey): Promise<Manifest> {
  return signDocument(v.parse(UnsignedManifest, m), orgKey);
}

export interface VerifyManifestOptions {
  /** the domain the manifest was fetched from; it must name itself */
  domain?: string;
  /** a pinned fingerprint (see fingerprint()); a different key fails with key_mismatch */
  pinnedFingerprint?: string;
  now?: Date;
}

/** Validates shape, self-signature, validity window, domain and optional pin. Returns the typed manifest. */
export async function verifyManifest(input: unknown, opts: VerifyManifestOptions = {}): Promise<Manifest> {
  const parsed = v.safeParse(Manifest, input);
  if (!parsed.success) throw new ManifestError('malformed', `malformed manifest: ${parsed.issues[0]?.message ?? ''}`);
  const m = parsed.output;
  if (opts.domain !== undefined && m.domain !== opts.domain)
    throw new ManifestError('wrong_domain', `manifest names ${m.domain}, expected ${opts.domain}`);
  if (!(await verifyDocument(m, m.orgPublicKey))) throw new ManifestError('bad_signature', 'manifest signature does not verify');
  const now = (opts.now ?? new Date()).getTime();
  if (Date.parse(m.issuedAt) > now + 5 * 60_000) throw new ManifestError('not_yet_valid', 'manifest issued in the future');
  if (Date.parse(m.expiresAt) <= now) throw new ManifestError('expired', 'manifest expired');
  if (opts.pinnedFingerprint !== undefined && (await fingerprint(m.orgPublicKey)) !== opts.pinnedFingerprint) {
    throw new ManifestError('key_mismatch', 'org key differs from the pinned fingerprint');
  }
  return m;
}

/**
 * Fingerprint of an org public key: SHA-256 of the raw 32 key bytes, lower-case hex in
 * groups of 4 separated by spaces (16 groups). Partners pin this value.
 * @example await fingerprint(manifest.orgPublicKey) // "3f2a 91c0 ..."
 */
export async function fingerprint(orgPublicKeyB64: string): Promise<string> {
  const hex = toHex(await sha256(fromBase64(orgPublicKeyB64)));
  return hex.match(/.{4}/g)!.join(' ');
}

/** Fingerprints compare without spaces, colons or case: admins paste them in many forms. */
export function normalizeFingerprint(fp: string): string {
  return fp.replace(/[\s:]/g, '').toLowerCase();
}
