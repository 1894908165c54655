/**
 * Deterministic Ed25519 keys for test vectors: the same 32-byte seed always gives the same key
 * pair (RFC 8032 5.1.5), and Ed25519 signatures are deterministic, so signed vectors can be
 * checked byte for byte. Only tests need seeds; Kontor itself generates keys with WebCrypto.
 */
import { fromBase64, toBase64 } from '../../src/wire/bytes';
import { importPublicKey, type Ed25519KeyPair } from '../../src/wire/ed25519';

/** DER prefix of a PKCS #8 Ed25519 private key (RFC 8410 section 7); the 32-byte seed follows. */
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export function seedFromHex(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error('an Ed25519 seed is 32 bytes of lower-case hex');
  return Uint8Array.from(hex.match(/../g)!.map((b) => Number.parseInt(b, 16)));
}

/** The key pair of `seed` (32 bytes), shaped like generateKeyPair()'s. */
export async function keyPairFromSeed(seed: Uint8Array): Promise<Ed25519KeyPair> {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  const pkcs8 = new Uint8Array([...PKCS8_PREFIX, ...seed]);
  const subtle = globalThis.crypto.subtle;
  const privateKey = await subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
  const jwk = await subtle.exportKey('jwk', privateKey);
  // The JWK's `x` is the public key, base64url; Kontor carries keys as standard base64.
  const publicKeyB64 = toBase64(fromBase64(jwk.x!));
  return { privateKey, publicKey: await importPublicKey(publicKeyB64), publicKeyB64 };
}
