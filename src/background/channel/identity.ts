/**
 * The device identity: a non-extractable WebCrypto Ed25519 key for gateway auth, the MLS
 * signature key pair (raw bytes, sealed), the device certificate once enrolled, and the
 * device's stock of one-time key packages (private halves sealed until a Welcome uses them).
 */
import { generateKeyPair } from '../../wire/ed25519';
import { fromBase64, toBase64, toHex, equalBytes } from '../../wire/bytes';
import type { Certificate } from '../../wire/certificate';
import type { ChannelDb, IdentityRecord } from './db';
import type { Keystore } from './keystore';
import { generateKeyPackage, generateSignatureKeyPair, pack, unpack, type SignatureKeyPair } from './mls';

const SLOT = 'device';
const SIG_AAD = 'identity:mls-signature';

export class IdentityError extends Error {
  override name = 'IdentityError';
  constructor(
    readonly code: 'not_enrolled' | 'certificate_mismatch',
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
}

/** Loads the identity, creating keys on first run (before enrollment). */
export async function loadOrCreateIdentity(db: ChannelDb, ks: Keystore): Promise<Identity> {
  const rec = await db.get('identity', SLOT);
  if (rec) {
    const [publicKey, signKey] = unpack(await ks.open(rec.mlsSignature, SIG_AAD), 2);
    return {
      deviceKey: rec.deviceKey,
      mlsSignature: { publicKey: publicKey!, signKey: signKey! },
      mlsSignaturePublicB64: rec.mlsSignaturePublicB64,
      certificate: rec.certificate,
    };
  }
  const deviceKey = await generateKeyPair(false);
  const sig = await generateSignatureKeyPair();
  const fresh: IdentityRecord = {
    deviceKey,
    mlsSignature: await ks.seal(pack([sig.publicKey, sig.signKey]), SIG_AAD),
    mlsSignaturePublicB64: toBase64(sig.publicKey),
    certificate: null,
    createdAt: Date.now(),
  };
  const tx = db.transaction('identity', 'readwrite');
  const raced = await tx.store.get(SLOT);
  if (!raced) await tx.store.put(fresh, SLOT);
  await tx.done;
  return raced
    ? loadOrCreateIdentity(db, ks)
    : { deviceKey, mlsSignature: sig, mlsSignaturePublicB64: fresh.mlsSignaturePublicB64, certificate: null };
}

/** Stores the certificate from enrollment; it must name this device's two public keys. */
export async function saveCertificate(db: ChannelDb, cert: Certificate): Promise<void> {
  const tx = db.transaction('identity', 'readwrite');
  const rec = await tx.store.get(SLOT);
  if (!rec) throw new IdentityError('not_enrolled', 'no device identity');
  if (
    cert.devicePublicKey !== rec.deviceKey.publicKeyB64 ||
    !equalBytes(fromBase64(cert.mlsSignatureKey), fromBase64(rec.mlsSignaturePublicB64))
  ) {
    throw new IdentityError('certificate_mismatch', 'certificate names other keys than this device');
  }
  await tx.store.put({ ...rec, certificate: cert }, SLOT);
  await tx.done;
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
    const kp = await generateKeyPackage(id.certificate, id.mlsSignature);
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
