/**
 * Signed JSON documents (manifest, device certificate): the signature is Ed25519 over the
 * UTF-8 bytes of the RFC 8785 canonical form of the document without its `signature` field.
 */
import { canonicalize } from './canonical';
import { utf8 } from './bytes';
import { sign, verify } from './ed25519';

export function signingBytes(doc: Record<string, unknown>): Uint8Array {
  const { signature: _omit, ...rest } = doc;
  return utf8(canonicalize(rest));
}

export async function signDocument<T extends Record<string, unknown>>(doc: T, key: CryptoKey): Promise<T & { signature: string }> {
  const signature = await sign(key, signingBytes(doc));
  return { ...doc, signature };
}

export async function verifyDocument(doc: Record<string, unknown> & { signature: string }, publicKeyB64: string): Promise<boolean> {
  return verify(publicKeyB64, doc.signature, signingBytes(doc));
}
