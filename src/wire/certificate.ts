/** Device certificates: issued by the org key at enrollment; clients check them before trusting an MLS credential. */
import * as v from 'valibot';
import { DisplayName, Domain, Ident, IsoTime, PublicKeyB64, SignatureB64 } from './schemas';
import { signDocument, verifyDocument } from './signed';

export const CERT_TYPE = 'kontor.device-certificate';

export const UnsignedCertificate = v.strictObject({
  type: v.literal(CERT_TYPE),
  v: v.literal(1),
  deviceId: Ident,
  employeeId: Ident,
  displayName: DisplayName,
  orgDomain: Domain,
  devicePublicKey: PublicKeyB64,
  mlsSignatureKey: PublicKeyB64,
  issuedAt: IsoTime,
  expiresAt: IsoTime,
});
export const Certificate = v.strictObject({ ...UnsignedCertificate.entries, signature: SignatureB64 });
export type UnsignedCertificate = v.InferOutput<typeof UnsignedCertificate>;
export type Certificate = v.InferOutput<typeof Certificate>;

export class CertificateError extends Error {
  override name = 'CertificateError';
  constructor(
    readonly code: 'malformed' | 'bad_signature' | 'expired' | 'wrong_domain',
    message: string,
  ) {
    super(message);
  }
}

export async function signCertificate(c: UnsignedCertificate, orgKey: CryptoKey): Promise<Certificate> {
  return signDocument(v.parse(UnsignedCertificate, c), orgKey);
}

/**
 * Checks shape, org signature, expiry and (if given) the org domain.
 * @example const cert = await verifyCertificate(json, manifest.orgPublicKey, { domain: manifest.domain });
 */
export async function verifyCertificate(
  input: unknown,
  orgPublicKeyB64: string,
  opts: { domain?: string; now?: Date } = {},
): Promise<Certificate> {
  const parsed = v.safeParse(Certificate, input);
  if (!parsed.success) throw new CertificateError('malformed', `malformed certificate: ${parsed.issues[0]?.message ?? ''}`);
  const c = parsed.output;
  if (opts.domain !== undefined && c.orgDomain !== opts.domain)
    throw new CertificateError('wrong_domain', `certificate is for ${c.orgDomain}`);
  if (!(await verifyDocument(c, orgPublicKeyB64))) throw new CertificateError('bad_signature', 'certificate signature does not verify');
  if (Date.parse(c.expiresAt) <= (opts.now ?? new Date()).getTime()) throw new CertificateError('expired', 'certificate expired');
  return c;
}
