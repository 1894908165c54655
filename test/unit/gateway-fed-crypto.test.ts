/** The gateway's inline federation crypto agrees with the WebCrypto versions the extension and older gateways use. */
import { describe, expect, it } from 'vitest';
import { digestB64, signB64, verifyB64 } from '../../src/gateway/fed-crypto';
import { generateKeyPair, sign, verify } from '../../src/wire/ed25519';
import { sha256, toBase64 } from '../../src/wire/bytes';

const data = new TextEncoder().encode('POST\n/v1/fed/deliver\nacme.example\nglobex.example');

describe('fed-crypto', () => {
  it('signs and verifies interchangeably with WebCrypto, also with a non-extractable key', async () => {
    const kp = await generateKeyPair(false);
    const mine = signB64(kp.privateKey, data);
    expect(await verify(kp.publicKeyB64, mine, data)).toBe(true);
    expect(verifyB64(kp.publicKeyB64, await sign(kp.privateKey, data), data)).toBe(true);
    expect(verifyB64(kp.publicKeyB64, mine, new TextEncoder().encode('other'))).toBe(false);
  });

  it('does not verify, and does not throw, for a foreign key, a short key or a malformed signature', async () => {
    const [a, b] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    const sig = signB64(a.privateKey, data);
    expect(verifyB64(b.publicKeyB64, sig, data)).toBe(false);
    expect(verifyB64('AAAA', sig, data)).toBe(false);
    expect(verifyB64(a.publicKeyB64, 'not base64 at all!', data)).toBe(false);
    expect(verifyB64(a.publicKeyB64, sig.slice(0, 40), data)).toBe(false);
  });

  it('hashes small bodies inline and large ones off the event loop, to the same digest', async () => {
    const small = new Uint8Array(1000).fill(1);
    const large = new Uint8Array(100 * 1024).fill(2);
    expect(typeof digestB64(small)).toBe('string');
    expect(digestB64(small)).toBe(toBase64(await sha256(small)));
    expect(digestB64(large)).toBeInstanceOf(Promise);
    expect(await digestB64(large)).toBe(toBase64(await sha256(large)));
  });
});
