/** Ed25519 over WebCrypto (native in Node 20 and current Chromium/Firefox). Keys travel as raw 32-byte public keys. */
import { fromBase64, toBase64 } from './bytes';

const ALG = { name: 'Ed25519' } as const;

export interface Ed25519KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** base64 of the raw 32-byte public key */
  publicKeyB64: string;
}

export async function generateKeyPair(extractable = false): Promise<Ed25519KeyPair> {
  const kp = (await globalThis.crypto.subtle.generateKey(ALG, extractable, ['sign', 'verify'])) as CryptoKeyPair;
  const raw = new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', kp.publicKey));
  return { privateKey: kp.privateKey, publicKey: kp.publicKey, publicKeyB64: toBase64(raw) };
}

export async function importPublicKey(b64: string): Promise<CryptoKey> {
  const raw = fromBase64(b64);
  if (raw.length !== 32) throw new Error('Ed25519 public key must be 32 bytes');
  return globalThis.crypto.subtle.importKey('raw', raw as BufferSource, ALG, true, ['verify']);
}

export async function sign(key: CryptoKey, data: Uint8Array): Promise<string> {
  return toBase64(new Uint8Array(await globalThis.crypto.subtle.sign(ALG, key, data as BufferSource)));
}

/** Never throws on malformed input: a bad key or signature simply does not verify. */
export async function verify(publicKeyB64: string, signatureB64: string, data: Uint8Array): Promise<boolean> {
  try {
    const sig = fromBase64(signatureB64);
    if (sig.length !== 64) return false;
    const key = await importPublicKey(publicKeyB64);
    return await globalThis.crypto.subtle.verify(ALG, key, sig as BufferSource, data as BufferSource);
  } catch {
    return false;
  }
}

/** JWK export/import so the gateway can keep its org key in the data directory. */
export async function exportPrivateJwk(key: CryptoKey): Promise<JsonWebKey> {
  return globalThis.crypto.subtle.exportKey('jwk', key);
}

export async function importPrivateJwk(jwk: JsonWebKey): Promise<Ed25519KeyPair> {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 private JWK');
  const privateKey = await globalThis.crypto.subtle.importKey('jwk', jwk, ALG, false, ['sign']);
  const publicKeyB64 = toBase64(fromBase64(jwk.x));
  const publicKey = await importPublicKey(publicKeyB64);
  return { privateKey, publicKey, publicKeyB64 };
}
