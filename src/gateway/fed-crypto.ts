/**
 * The federation signature's hashing, signing and checking with node:crypto on the calling
 * thread. WebCrypto (src/wire/ed25519.ts, shared with the extension) does the same work on
 * libuv's thread pool: a hand-off and a wake-up per call, three to four on every federated
 * message's path, which cost more than the work (an Ed25519 signature is about 40 µs here).
 * Bodies over 64 KiB are still hashed off the event loop.
 */
import { createHash, createPublicKey, KeyObject, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { sha256, toBase64 } from '../wire/bytes';
import { BoundedMap } from './bounded';

const INLINE_HASH_BYTES = 64 * 1024;

/** base64 SHA-256 of a request body, as the kontor-digest header carries it */
export function digestB64(body: Uint8Array): Promise<string> | string {
  if (body.length > INLINE_HASH_BYTES) return sha256(body).then(toBase64);
  return createHash('sha256').update(body).digest('base64');
}

const privateKeys = new WeakMap<CryptoKey, KeyObject>();

/** base64 Ed25519 signature, as src/wire/ed25519.ts `sign` makes it */
export function signB64(key: CryptoKey, data: Uint8Array): string {
  let k = privateKeys.get(key);
  if (!k) privateKeys.set(key, (k = KeyObject.from(key)));
  return nodeSign(null, data, k).toString('base64');
}

/** peers' org keys, by their base64 form: a few per partner, bounded against key churn */
const publicKeys = new BoundedMap<string, KeyObject | null>(1_000);

function publicKey(b64: string): KeyObject | null {
  const known = publicKeys.get(b64);
  if (known !== undefined) return known;
  let k: KeyObject | null = null;
  const raw = Buffer.from(b64, 'base64');
  if (raw.length === 32) {
    try {
      k = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    } catch {
      k = null;
    }
  }
  publicKeys.set(b64, k);
  return k;
}

/** Never throws on malformed input: a bad key or signature simply does not verify (as wire `verify`). */
export function verifyB64(publicKeyB64: string, signatureB64: string, data: Uint8Array): boolean {
  const k = publicKey(publicKeyB64);
  const sig = Buffer.from(signatureB64, 'base64');
  if (!k || sig.length !== 64) return false;
  try {
    return nodeVerify(null, data, k, sig);
  } catch {
    return false;
  }
}
