/**
 * Employee identities (issue 15): the chain org key → employee identity → device.
 *
 * The org certifies an employee's identity key once (IdentityCertificate). Each device of the
 * employee is endorsed by that identity key (DeviceEndorsement), which only the employee's own
 * devices hold: the gateway holds the org key, so a device certified by the org alone is one
 * the gateway could have made, and clients treat it as such. An MLS credential carries the
 * whole chain (CredentialChain) beside the org-issued device certificate the gateway checks.
 */
import * as v from 'valibot';
import { Certificate } from './certificate';
import { DisplayName, Domain, Ident, IsoTime, PublicKeyB64, SignatureB64 } from './schemas';
import { signingBytes, verifyDocument } from './signed';

export const IDENTITY_CERT_TYPE = 'kontor.identity-certificate' as const;
export const ENDORSEMENT_TYPE = 'kontor.device-endorsement' as const;
export const CHAIN_TYPE = 'kontor.credential-chain' as const;

export const UnsignedIdentityCertificate = v.strictObject({
  type: v.literal(IDENTITY_CERT_TYPE),
  v: v.literal(1),
  employeeId: Ident,
  displayName: DisplayName,
  orgDomain: Domain,
  identityKey: PublicKeyB64,
  issuedAt: IsoTime,
  expiresAt: IsoTime,
});
export const IdentityCertificate = v.strictObject({ ...UnsignedIdentityCertificate.entries, signature: SignatureB64 });
export type UnsignedIdentityCertificate = v.InferOutput<typeof UnsignedIdentityCertificate>;
export type IdentityCertificate = v.InferOutput<typeof IdentityCertificate>;

export const UnsignedEndorsement = v.strictObject({
  type: v.literal(ENDORSEMENT_TYPE),
  v: v.literal(1),
  employeeId: Ident,
  orgDomain: Domain,
  identityKey: PublicKeyB64,
  deviceId: Ident,
  devicePublicKey: PublicKeyB64,
  mlsSignatureKey: PublicKeyB64,
  /** the device that signed this one in (linking); null for the device that created the identity */
  linkedBy: v.nullable(Ident),
  issuedAt: IsoTime,
});
export const DeviceEndorsement = v.strictObject({ ...UnsignedEndorsement.entries, signature: SignatureB64 });
export type UnsignedEndorsement = v.InferOutput<typeof UnsignedEndorsement>;
export type DeviceEndorsement = v.InferOutput<typeof DeviceEndorsement>;

export const CredentialChain = v.strictObject({
  type: v.literal(CHAIN_TYPE),
  v: v.literal(1),
  device: Certificate,
  identity: IdentityCertificate,
  endorsement: DeviceEndorsement,
});
export type CredentialChain = v.InferOutput<typeof CredentialChain>;

export class IdentityChainError extends Error {
  override name = 'IdentityChainError';
  constructor(
    readonly code: 'malformed' | 'bad_signature' | 'expired' | 'mismatch',
    message: string,
  ) {
    super(message);
  }
}

/** Signs with a key held as raw bytes elsewhere (the identity key lives in the client's keystore). */
export type Signer = (data: Uint8Array) => Promise<string>;

export async function signIdentityCertificate(c: UnsignedIdentityCertificate, sign: Signer): Promise<IdentityCertificate> {
  const doc = v.parse(UnsignedIdentityCertificate, c);
  return { ...doc, signature: await sign(signingBytes(doc)) };
}

export async function signEndorsement(e: UnsignedEndorsement, sign: Signer): Promise<DeviceEndorsement> {
  const doc = v.parse(UnsignedEndorsement, e);
  return { ...doc, signature: await sign(signingBytes(doc)) };
}

/**
 * Checks an identity certificate's shape, org signature, expiry and domain.
 * @example const id = await verifyIdentityCertificate(json, orgKey, { domain: 'acme.example' });
 */
export async function verifyIdentityCertificate(
  input: unknown,
  orgPublicKeyB64: string,
  opts: { domain?: string; now?: Date } = {},
): Promise<IdentityCertificate> {
  const parsed = v.safeParse(IdentityCertificate, input);
  if (!parsed.success) throw new IdentityChainError('malformed', `malformed identity certificate: ${parsed.issues[0]?.message ?? ''}`);
  const c = parsed.output;
  if (opts.domain !== undefined && c.orgDomain !== opts.domain)
    throw new IdentityChainError('mismatch', `identity certificate is for ${c.orgDomain}`);
  if (!(await verifyDocument(c, orgPublicKeyB64)))
    throw new IdentityChainError('bad_signature', 'identity certificate signature does not verify');
  if (Date.parse(c.expiresAt) <= (opts.now ?? new Date()).getTime())
    throw new IdentityChainError('expired', 'identity certificate expired');
  return c;
}

/**
 * Checks the identity half of a chain: the org certified the identity, the identity endorsed
 * exactly this device (its id and both keys), and all three name the same employee and org.
 * The device certificate itself is checked by the caller (verifyCertificate).
 */
export async function verifyChain(chain: CredentialChain, orgPublicKeyB64: string, now = new Date()): Promise<CredentialChain> {
  const { device: d, identity: i, endorsement: e } = chain;
  await verifyIdentityCertificate(i, orgPublicKeyB64, { domain: d.orgDomain, now });
  if (i.employeeId !== d.employeeId)
    throw new IdentityChainError('mismatch', 'identity certificate names another employee than the device');
  if (
    e.identityKey !== i.identityKey ||
    e.employeeId !== d.employeeId ||
    e.orgDomain !== d.orgDomain ||
    e.deviceId !== d.deviceId ||
    e.devicePublicKey !== d.devicePublicKey ||
    e.mlsSignatureKey !== d.mlsSignatureKey
  ) {
    throw new IdentityChainError('mismatch', 'the endorsement names another identity or device');
  }
  if (!(await verifyDocument(e, i.identityKey)))
    throw new IdentityChainError('bad_signature', 'device endorsement signature does not verify');
  return chain;
}

export const REVOCATION_TYPE = 'kontor.device-revocation' as const;

/**
 * A signed statement that a device is revoked: by the employee's identity key (from another of
 * their devices) or by the org key (the admin). Members verify it themselves and remove the
 * device, so a revocation does not rest on a gateway's refusal to deliver.
 */
export const UnsignedRevocation = v.strictObject({
  type: v.literal(REVOCATION_TYPE),
  v: v.literal(1),
  employeeId: Ident,
  orgDomain: Domain,
  deviceId: Ident,
  issuedBy: v.picklist(['identity', 'org']),
  revokedAt: IsoTime,
});
export const DeviceRevocation = v.strictObject({ ...UnsignedRevocation.entries, signature: SignatureB64 });
export type UnsignedRevocation = v.InferOutput<typeof UnsignedRevocation>;
export type DeviceRevocation = v.InferOutput<typeof DeviceRevocation>;

export async function signRevocation(r: UnsignedRevocation, sign: Signer): Promise<DeviceRevocation> {
  const doc = v.parse(UnsignedRevocation, r);
  return { ...doc, signature: await sign(signingBytes(doc)) };
}

/** Whether `r` is signed by the key its `issuedBy` names: the employee's identity key, or the org key. */
export async function verifyRevocation(r: DeviceRevocation, keys: { identityKey: string | null; orgKey: string | null }): Promise<boolean> {
  const key = r.issuedBy === 'identity' ? keys.identityKey : keys.orgKey;
  return key !== null && verifyDocument(r, key);
}
