/**
 * The device identity: a non-extractable WebCrypto Ed25519 key for gateway auth, the MLS
 * signature key pair (raw bytes, sealed), the employee identity key (raw bytes, sealed; the
 * org certifies it, it endorses this device: issue 15), the device certificate and the
 * credential chain once enrolled, and the device's stock of one-time key packages (private
 * halves sealed until a Welcome uses them).
 */
import { generateKeyPair } from '../../wire/ed25519';
import { fromBase64, toBase64, toHex, equalBytes } from '../../wire/bytes';
import { Keystore } from './keystore';
import type { Certificate } from '../../wire/certificate';
import { CHAIN_TYPE, ENDORSEMENT_TYPE, signEndorsement, type CredentialChain, type IdentityCertificate } from '../../wire/identity';
import type { Credential } from 'ts-mls';
import { certificateCredential, chainCredential } from './credentials';
import type { ChannelDb, IdentityRecord } from './db';
import { generateKeyPackage, generateSignatureKeyPair, pack, signWithSignatureKey, unpack, type SignatureKeyPair } from './mls';

const SLOT = 'device';
const SIG_AAD = 'identity:mls-signature';
const EMPLOYEE_AAD = 'identity:employee-key';

export class IdentityError extends Error {
  override name = 'IdentityError';
  constructor(
    readonly code: 'not_enrolled' | 'certificate_mismatch' | 'identity_mismatch',
    message: string,
  ) {
    super(message);
  }
}

export interface Identity {
  deviceKey: IdentityRecord['deviceKey'];
  mlsSignature: SignatureKeyPair;
  mlsSignaturePublicB64: string;
  certificate: Certificate | null;
  /** the employee identity key pair; null on a device created before identities */
  employeeKey: SignatureKeyPair | null;
  /** org → identity → device; null while the device is certified by the org alone */
  chain: CredentialChain | null;
}

/** The MLS credential this device presents: the chain when it has one, else the bare certificate. */
export function credentialOf(id: Identity & { certificate: Certificate }): Credential {
  return id.chain ? chainCredential(id.chain) : certificateCredential(id.certificate);
}

async function open(rec: IdentityRecord, ks: Keystore): Promise<Identity> {
  const [publicKey, signKey] = unpack(await ks.open(rec.mlsSignature, SIG_AAD), 2);
  let employeeKey: SignatureKeyPair | null = null;
  if (rec.employeeKey) {
    const [ep, es] = unpack(await ks.open(rec.employeeKey, EMPLOYEE_AAD), 2);
    employeeKey = { publicKey: ep!, signKey: es! };
  }
  return {
    deviceKey: rec.deviceKey,
    mlsSignature: { publicKey: publicKey!, signKey: signKey! },
    mlsSignaturePublicB64: rec.mlsSignaturePublicB64,
    certificate: rec.certificate,
    employeeKey,
    chain: rec.chain ?? null,
  };
}

/** Loads the identity, creating keys on first run (before enrollment). */
export async function loadOrCreateIdentity(db: ChannelDb, ks: Keystore): Promise<Identity> {
  const rec = await db.get('identity', SLOT);
  if (rec) return open(rec, ks);
  const deviceKey = await generateKeyPair(false);
  const sig = await generateSignatureKeyPair();
  const employee = await generateSignatureKeyPair();
  const fresh: IdentityRecord = {
    deviceKey,
    mlsSignature: await ks.seal(pack([sig.publicKey, sig.signKey]), SIG_AAD),
    mlsSignaturePublicB64: toBase64(sig.publicKey),
    certificate: null,
    createdAt: Date.now(),
    employeeKey: await ks.seal(pack([employee.publicKey, employee.signKey]), EMPLOYEE_AAD),
    employeeKeyPublicB64: toBase64(employee.publicKey),
    chain: null,
  };
  const tx = db.transaction('identity', 'readwrite');
  const raced = await tx.store.get(SLOT);
  if (!raced) await tx.store.put(fresh, SLOT);
  await tx.done;
  return raced
    ? loadOrCreateIdentity(db, ks)
    : {
        deviceKey,
        mlsSignature: sig,
        mlsSignaturePublicB64: fresh.mlsSignaturePublicB64,
        certificate: null,
        employeeKey: employee,
        chain: null,
      };
}

/**
 * Stores the certificate from enrollment; it must name this device's two public keys. With
 * the org's identity certificate for this device's employee key, the employee key endorses
 * the device (it is the identity's first device: linkedBy null) and the chain is stored.
 */
export async function saveCertificate(db: ChannelDb, cert: Certificate, identity?: IdentityCertificate): Promise<void> {
  const ks = await Keystore.open(db);
  const rec = await recordFor(db, cert);
  let chain: CredentialChain | null = null;
  if (identity) {
    const id = await open(rec, ks);
    if (
      !id.employeeKey ||
      identity.identityKey !== rec.employeeKeyPublicB64 ||
      identity.employeeId !== cert.employeeId ||
      identity.orgDomain !== cert.orgDomain
    ) {
      throw new IdentityError('identity_mismatch', 'identity certificate names another key or employee than this device');
    }
    const endorsement = await endorseDevice(id.employeeKey.signKey, cert, identity.identityKey, null);
    chain = { type: CHAIN_TYPE, v: 1, device: cert, identity, endorsement };
  }
  const tx = db.transaction('identity', 'readwrite');
  const current = await tx.store.get(SLOT);
  if (!current) throw new IdentityError('not_enrolled', 'no device identity');
  await tx.store.put({ ...current, certificate: cert, chain }, SLOT);
  await tx.done;
}

/** This device's stored identity, once `cert` is known to name its two keys. */
async function recordFor(db: ChannelDb, cert: Certificate): Promise<IdentityRecord> {
  const rec = await db.get('identity', SLOT);
  if (!rec) throw new IdentityError('not_enrolled', 'no device identity');
  if (
    cert.devicePublicKey !== rec.deviceKey.publicKeyB64 ||
    !equalBytes(fromBase64(cert.mlsSignatureKey), fromBase64(rec.mlsSignaturePublicB64))
  ) {
    throw new IdentityError('certificate_mismatch', 'certificate names other keys than this device');
  }
  return rec;
}

/** The identity key's endorsement of a device: the device itself (linkedBy null) or one it links. */
export function endorseDevice(identitySignKey: Uint8Array, cert: Certificate, identityKey: string, linkedBy: string | null) {
  return signEndorsement(
    {
      type: ENDORSEMENT_TYPE,
      v: 1,
      employeeId: cert.employeeId,
      orgDomain: cert.orgDomain,
      identityKey,
      deviceId: cert.deviceId,
      devicePublicKey: cert.devicePublicKey,
      mlsSignatureKey: cert.mlsSignatureKey,
      linkedBy,
      issuedAt: cert.issuedAt,
    },
    (d) => signWithSignatureKey(identitySignKey, d),
  );
}

export const keyPackageAad = (refHex: string) => `keypackage:${refHex}`;

/**
 * Generates key packages, stores their private parts sealed, and returns the base64 messages
 * to upload. Persisted before upload, so a Welcome can never arrive for a key we dropped.
 */
export async function createKeyPackages(db: ChannelDb, ks: Keystore, id: Identity, count: number, lastResort = false): Promise<string[]> {
  if (!id.certificate) throw new IdentityError('not_enrolled', 'enroll before creating key packages');
  const made = [];
  for (let i = 0; i < count; i++) {
    const kp = await generateKeyPackage(credentialOf({ ...id, certificate: id.certificate }), id.mlsSignature);
    const ref = toHex(kp.ref);
    made.push({
      rec: { ref, secret: await ks.seal(kp.secret, keyPackageAad(ref)), lastResort, createdAt: Date.now() },
      b64: toBase64(kp.message),
    });
  }
  const tx = db.transaction('keyPackages', 'readwrite');
  for (const m of made) await tx.store.put(m.rec);
  await tx.done;
  return made.map((m) => m.b64);
}

/**
 * Stores what the linking device granted (wire/link.ts): the certificate for this device's
 * keys, the identity certificate, the identity's endorsement of this device, and the identity
 * key pair itself, which replaces the key this browser made for itself (Signal's model: every
 * linked device holds the identity). The caller verified the chain against the org key.
 */
export async function saveLinkedIdentity(
  db: ChannelDb,
  grant: { chain: CredentialChain; identityKeyPair: SignatureKeyPair },
): Promise<void> {
  const ks = await Keystore.open(db);
  const { device: cert, identity } = grant.chain;
  await recordFor(db, cert);
  if (toBase64(grant.identityKeyPair.publicKey) !== identity.identityKey)
    throw new IdentityError('identity_mismatch', 'the identity key pair is not the certified identity');
  const employeeKey = await ks.seal(pack([grant.identityKeyPair.publicKey, grant.identityKeyPair.signKey]), EMPLOYEE_AAD);
  const tx = db.transaction('identity', 'readwrite');
  const current = await tx.store.get(SLOT);
  if (!current) throw new IdentityError('not_enrolled', 'no device identity');
  await tx.store.put({ ...current, certificate: cert, chain: grant.chain, employeeKey, employeeKeyPublicB64: identity.identityKey }, SLOT);
  await tx.done;
}
