/**
 * Fixed-key test vectors (test/vectors/*.json, written by scripts/make-vectors.ts): the code in
 * src/wire must reproduce every signing string and signature byte for byte, and node:crypto,
 * a second Ed25519 implementation path, must accept every signature. A failure here means a
 * wire format changed: deployed clients and gateways would no longer agree.
 */
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromUtf8, sha256, toBase64, toHex, utf8 } from '../../src/wire/bytes';
import { signCertificate, verifyCertificate, type UnsignedCertificate } from '../../src/wire/certificate';
import { sign } from '../../src/wire/ed25519';
import { fingerprint, signManifest, verifyManifest, type UnsignedManifest } from '../../src/wire/manifest';
import {
  CHAIN_TYPE,
  signEndorsement,
  signIdentityCertificate,
  signRevocation,
  verifyChain,
  verifyIdentityCertificate,
  verifyRevocation,
  type UnsignedRevocation,
  type UnsignedEndorsement,
  type UnsignedIdentityCertificate,
} from '../../src/wire/identity';
import { authChallenge, enrollTranscript, federationSigningString, identityTranscript } from '../../src/wire/protocol';
import { signWithSignatureKey } from '../../src/background/channel/mls';
import { signingBytes } from '../../src/wire/signed';
import { keyPairFromSeed, seedFromHex } from '../support/keys';
import { root } from '../support/paths';

const load = <T>(name: string): T => JSON.parse(readFileSync(path.join(root, 'test/vectors', `${name}.json`), 'utf8')) as T;
const keyOf = (seed: string) => keyPairFromSeed(seedFromHex(seed));

/** SPKI DER prefix of an Ed25519 public key (RFC 8410); the raw 32 bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Verifies with node:crypto's KeyObject API, not the WebCrypto path src/wire uses. */
function independentlyVerified(publicKeyB64: string, message: Uint8Array, signatureB64: string): boolean {
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, fromBase64(publicKeyB64)]), format: 'der', type: 'spki' });
  return nodeVerify(null, message, key, fromBase64(signatureB64));
}

interface Signed {
  signingString: string;
  signature: string;
}

describe('Ed25519 keys from fixed seeds (keys.json)', () => {
  const { vectors } = load<{
    vectors: ({ seed: string; publicKey?: string; publicKeyHex?: string; message?: string; signatureHex?: string } & { label: string })[];
  }>('keys');

  it('derives the RFC 8032 TEST 1 key and signature, so the seeded keys are real Ed25519 keys', async () => {
    const rfc = vectors[0]!;
    const key = await keyOf(rfc.seed);
    expect(toHex(fromBase64(key.publicKeyB64))).toBe(rfc.publicKeyHex);
    expect(toHex(fromBase64(await sign(key.privateKey, utf8(rfc.message!))))).toBe(rfc.signatureHex);
  });

  it.each(vectors.slice(1).map((v) => [v.label, v] as const))('%s', async (_label, v) => {
    expect((await keyOf(v.seed)).publicKeyB64).toBe(v.publicKey);
  });
});

describe('org manifest (manifest.json)', () => {
  const m = load<{ orgSeed: string; fingerprint: string; validAt: string; unsigned: UnsignedManifest } & Signed>('manifest');

  it('has the canonical signing string, the signature and the fingerprint of the vector', async () => {
    const key = await keyOf(m.orgSeed);
    expect(m.unsigned.orgPublicKey).toBe(key.publicKeyB64);
    expect(fromUtf8(signingBytes(m.unsigned))).toBe(m.signingString);
    expect(await signManifest(m.unsigned, key.privateKey)).toEqual({ ...m.unsigned, signature: m.signature });
    expect(await fingerprint(key.publicKeyB64)).toBe(m.fingerprint);
    expect(independentlyVerified(key.publicKeyB64, utf8(m.signingString), m.signature)).toBe(true);
  });

  it('verifies as published, pinned, and fails when one character changes', async () => {
    const doc = { ...m.unsigned, signature: m.signature };
    const opts = { domain: m.unsigned.domain, pinnedFingerprint: m.fingerprint, now: new Date(m.validAt) };
    await expect(verifyManifest(doc, opts)).resolves.toEqual(doc);
    await expect(verifyManifest({ ...doc, orgName: `${doc.orgName}.` }, opts)).rejects.toMatchObject({ code: 'bad_signature' });
    expect(independentlyVerified(m.unsigned.orgPublicKey, utf8(`${m.signingString} `), m.signature)).toBe(false);
  });
});

describe('device certificate (certificate.json)', () => {
  const c = load<{ orgSeed: string; orgPublicKey: string; validAt: string; unsigned: UnsignedCertificate } & Signed>('certificate');

  it('has the canonical signing string and the signature of the vector', async () => {
    const key = await keyOf(c.orgSeed);
    expect(key.publicKeyB64).toBe(c.orgPublicKey);
    expect(fromUtf8(signingBytes(c.unsigned))).toBe(c.signingString);
    expect(await signCertificate(c.unsigned, key.privateKey)).toEqual({ ...c.unsigned, signature: c.signature });
    expect(independentlyVerified(c.orgPublicKey, utf8(c.signingString), c.signature)).toBe(true);
  });

  it('verifies for its org and fails when one character changes', async () => {
    const doc = { ...c.unsigned, signature: c.signature };
    const opts = { domain: c.unsigned.orgDomain, now: new Date(c.validAt) };
    await expect(verifyCertificate(doc, c.orgPublicKey, opts)).resolves.toEqual(doc);
    await expect(verifyCertificate({ ...doc, displayName: 'Gina Mueller' }, c.orgPublicKey, opts)).rejects.toMatchObject({
      code: 'bad_signature',
    });
  });
});

describe('employee identity and device endorsement (identity.json)', () => {
  const c = load<{ orgPublicKey: string; unsigned: UnsignedCertificate } & Signed>('certificate');
  const i = load<{
    orgSeed: string;
    identitySeed: string;
    validAt: string;
    identityCertificate: { unsigned: UnsignedIdentityCertificate } & Signed;
    endorsement: { unsigned: UnsignedEndorsement } & Signed;
    revocation: { unsigned: UnsignedRevocation } & Signed;
  }>('identity');
  const chain = () => ({
    type: CHAIN_TYPE as typeof CHAIN_TYPE,
    v: 1 as const,
    device: { ...c.unsigned, signature: c.signature },
    identity: { ...i.identityCertificate.unsigned, signature: i.identityCertificate.signature },
    endorsement: { ...i.endorsement.unsigned, signature: i.endorsement.signature },
  });

  it('has the canonical signing strings and signatures of the vector, with the org key and the identity key', async () => {
    const org = await keyOf(i.orgSeed);
    const id = await keyOf(i.identitySeed);
    expect(fromUtf8(signingBytes(i.identityCertificate.unsigned))).toBe(i.identityCertificate.signingString);
    expect(fromUtf8(signingBytes(i.endorsement.unsigned))).toBe(i.endorsement.signingString);
    expect(await signIdentityCertificate(i.identityCertificate.unsigned, (d) => sign(org.privateKey, d))).toEqual(chain().identity);
    expect(await signEndorsement(i.endorsement.unsigned, (d) => sign(id.privateKey, d))).toEqual(chain().endorsement);
    // the client signs with the identity key as raw bytes (ts-mls's Ed25519): the same signature
    expect(await signEndorsement(i.endorsement.unsigned, (d) => signWithSignatureKey(seedFromHex(i.identitySeed), d))).toEqual(
      chain().endorsement,
    );
    expect(independentlyVerified(org.publicKeyB64, utf8(i.identityCertificate.signingString), i.identityCertificate.signature)).toBe(true);
    expect(independentlyVerified(id.publicKeyB64, utf8(i.endorsement.signingString), i.endorsement.signature)).toBe(true);
  });

  it('a revocation signed by the identity key verifies with that key only', async () => {
    const id = await keyOf(i.identitySeed);
    const org = await keyOf(i.orgSeed);
    expect(fromUtf8(signingBytes(i.revocation.unsigned))).toBe(i.revocation.signingString);
    const doc = await signRevocation(i.revocation.unsigned, (d) => sign(id.privateKey, d));
    expect(doc).toEqual({ ...i.revocation.unsigned, signature: i.revocation.signature });
    expect(await verifyRevocation(doc, { identityKey: id.publicKeyB64, orgKey: org.publicKeyB64 })).toBe(true);
    expect(await verifyRevocation({ ...doc, issuedBy: 'org' }, { identityKey: id.publicKeyB64, orgKey: org.publicKeyB64 })).toBe(false);
    expect(await verifyRevocation({ ...doc, deviceId: 'gina-1' }, { identityKey: id.publicKeyB64, orgKey: null })).toBe(false);
    expect(independentlyVerified(id.publicKeyB64, utf8(i.revocation.signingString), i.revocation.signature)).toBe(true);
  });

  it('the chain org → identity → device verifies, and fails when any link changes', async () => {
    const now = new Date(i.validAt);
    await expect(verifyIdentityCertificate(chain().identity, c.orgPublicKey, { domain: 'globex.example', now })).resolves.toEqual(
      chain().identity,
    );
    await expect(verifyChain(chain(), c.orgPublicKey, now)).resolves.toEqual(chain());
    const bad = chain();
    await expect(
      verifyChain({ ...bad, identity: { ...bad.identity, displayName: 'Gina Mueller' } }, c.orgPublicKey, now),
    ).rejects.toMatchObject({ code: 'bad_signature' });
    await expect(
      verifyChain({ ...bad, endorsement: { ...bad.endorsement, linkedBy: 'gina-0' } }, c.orgPublicKey, now),
    ).rejects.toMatchObject({ code: 'bad_signature' });
    // an endorsement of another device cannot stand in for this one
    await expect(verifyChain({ ...bad, device: { ...bad.device, deviceId: 'gina-2' } }, c.orgPublicKey, now)).rejects.toMatchObject({
      code: 'mismatch',
    });
  });
});

type EnrollInput = { domain: string; code: string; devicePublicKey: string; mlsSignatureKey: string };

describe('line signing strings (signing-strings.json)', () => {
  type Line<I> = { signerSeed: string; input: I } & Signed;
  const s = load<{
    enrollTranscriptDevice: Line<EnrollInput & { role: 'device' }>;
    enrollTranscriptMls: Line<EnrollInput & { role: 'mls' }>;
    identityTranscript: Line<EnrollInput & { identityKey: string }>;
    authChallenge: Line<{ domain: string; nonce: string; deviceId: string }>;
    federationSigningString: Line<Parameters<typeof federationSigningString>[0]> & { body: string };
  }>('signing-strings');

  const check = async (line: Signed & { signerSeed: string }, bytes: Uint8Array) => {
    const key = await keyOf(line.signerSeed);
    expect(fromUtf8(bytes)).toBe(line.signingString);
    expect(await sign(key.privateKey, bytes)).toBe(line.signature);
    expect(independentlyVerified(key.publicKeyB64, bytes, line.signature)).toBe(true);
  };

  it('enrollment proofs of both keys (enrollTranscript)', async () => {
    for (const v of [s.enrollTranscriptDevice, s.enrollTranscriptMls]) {
      const { role, ...input } = v.input;
      await check(v, enrollTranscript(role, input));
    }
  });

  it('enrollment proof of the employee identity key (identityTranscript)', async () => {
    await check(s.identityTranscript, identityTranscript(s.identityTranscript.input));
  });

  it('WebSocket authentication (authChallenge)', async () => {
    const { domain, nonce, deviceId } = s.authChallenge.input;
    await check(s.authChallenge, authChallenge(domain, nonce, deviceId));
  });

  it('federation request (federationSigningString), with the body digest', async () => {
    const f = s.federationSigningString;
    expect(toBase64(await sha256(utf8(f.body)))).toBe(f.input.digest);
    await check(f, federationSigningString(f.input));
  });
});
