/**
 * Fixed-key test vectors for Kontor's wire formats (test/vectors/*.json), as ts-mls keeps
 * vectors for its structures: Ed25519 keys from fixed seeds, fixed inputs, and the exact
 * signing strings and signatures they give. Ed25519 is deterministic, so a vector changes only
 * when a wire format changes: then every deployed client and gateway disagrees with the new
 * code. `npx tsx scripts/make-vectors.ts` rewrites the files; test/unit/wire-vectors.test.ts
 * checks the code against them.
 */
import { fromUtf8, sha256, toBase64, toHex, utf8 } from '../../src/wire/bytes';
import { CERT_TYPE, type UnsignedCertificate } from '../../src/wire/certificate';
import { sign } from '../../src/wire/ed25519';
import { fingerprint, MANIFEST_TYPE, type UnsignedManifest } from '../../src/wire/manifest';
import {
  ENDORSEMENT_TYPE,
  IDENTITY_CERT_TYPE,
  REVOCATION_TYPE,
  type UnsignedEndorsement,
  type UnsignedIdentityCertificate,
  type UnsignedRevocation,
} from '../../src/wire/identity';
import { authChallenge, enrollTranscript, federationSigningString, identityTranscript } from '../../src/wire/protocol';
import { signingBytes } from '../../src/wire/signed';
import { deriveLinkKeys, linkCommitment, linkLocator, linkProofTranscript, linkTranscript, sealLink } from '../../src/wire/link';
import { keyPairFromSeed, seedFromHex } from './keys';

/** A seed named by its purpose: SHA-256 of the label, so anyone can rebuild it. */
export async function labelledSeed(label: string): Promise<string> {
  return toHex(await sha256(utf8(label)));
}

async function keyVector(label: string) {
  const seed = await labelledSeed(label);
  const key = await keyPairFromSeed(seedFromHex(seed));
  return { label, seed, publicKey: key.publicKeyB64, key };
}

/** Inputs of every vector; the outputs are computed from them by the code under test. */
export async function buildVectors(): Promise<
  Record<'keys' | 'manifest' | 'certificate' | 'identity' | 'signing-strings' | 'link', unknown>
> {
  const org = await keyVector('kontor test vector: org key of globex.example');
  const device = await keyVector('kontor test vector: device key of gina-1@globex.example');
  const mls = await keyVector('kontor test vector: MLS signature key of gina-1@globex.example');
  const employee = await keyVector('kontor test vector: identity key of gina@globex.example');
  const enrollInput = {
    domain: 'globex.example',
    code: 'ABCD-EFGH-2345',
    devicePublicKey: device.publicKey,
    mlsSignatureKey: mls.publicKey,
  };
  const strip = ({ key: _key, ...rest }: Awaited<ReturnType<typeof keyVector>>) => rest;

  const manifest: UnsignedManifest = {
    type: MANIFEST_TYPE,
    version: 1,
    orgName: 'Globex GmbH & Co. KG — Zürich "Süd"',
    domain: 'globex.example',
    gatewayUrl: 'https://gateway.globex.example',
    orgPublicKey: org.publicKey,
    contacts: [
      { id: 'sales', name: 'Vertrieb' },
      { id: 'support', name: 'Support 24/7' },
    ],
    profiles: ['https://www.linkedin.com/company/globex', 'https://www.xing.com/pages/globex'],
    issuedAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-08T00:00:00.000Z',
  };
  const certificate: UnsignedCertificate = {
    type: CERT_TYPE,
    v: 1,
    deviceId: 'gina-1',
    employeeId: 'gina',
    displayName: 'Gina Müller',
    orgDomain: 'globex.example',
    devicePublicKey: device.publicKey,
    mlsSignatureKey: mls.publicKey,
    issuedAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-31T00:00:00.000Z',
  };
  const identity: UnsignedIdentityCertificate = {
    type: IDENTITY_CERT_TYPE,
    v: 1,
    employeeId: 'gina',
    displayName: 'Gina Müller',
    orgDomain: 'globex.example',
    identityKey: employee.publicKey,
    issuedAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2027-01-01T00:00:00.000Z',
  };
  const endorsement: UnsignedEndorsement = {
    type: ENDORSEMENT_TYPE,
    v: 1,
    employeeId: 'gina',
    orgDomain: 'globex.example',
    identityKey: employee.publicKey,
    deviceId: 'gina-1',
    devicePublicKey: device.publicKey,
    mlsSignatureKey: mls.publicKey,
    linkedBy: null,
    issuedAt: '2026-01-01T00:00:00.000Z',
  };
  const revocation: UnsignedRevocation = {
    type: REVOCATION_TYPE,
    v: 1,
    employeeId: 'gina',
    orgDomain: 'globex.example',
    deviceId: 'gina-2',
    issuedBy: 'identity',
    revokedAt: '2026-01-02T00:00:00.000Z',
  };
  const signed = async (doc: Record<string, unknown>, key: CryptoKey) => {
    const bytes = signingBytes(doc);
    return { signingString: fromUtf8(bytes), signature: await sign(key, bytes) };
  };

  const body = '{"conversationId":"c1","entries":[]}';
  const fed = {
    method: 'post',
    path: '/v1/federation/deliver',
    from: 'globex.example',
    to: 'acme.example',
    timestamp: '1767225600000',
    nonce: 'AAECAwQFBgcICQoLDA0ODw',
    digest: toBase64(await sha256(utf8(body))),
  };
  const line = async (bytes: Uint8Array, key: CryptoKey) => ({ signingString: fromUtf8(bytes), signature: await sign(key, bytes) });

  return {
    keys: {
      description: 'Ed25519 key pairs from 32-byte seeds (RFC 8032 5.1.5). Seeds other than the RFC one are SHA-256 of the label.',
      vectors: [
        {
          label: 'RFC 8032 section 7.1, TEST 1',
          seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
          publicKeyHex: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
          message: '',
          signatureHex:
            'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
        },
        strip(org),
        strip(device),
        strip(mls),
        strip(employee),
      ],
    },
    manifest: {
      description: 'An org manifest (docs/manifest.md): the RFC 8785 signing string of the unsigned document and the org key signature.',
      orgSeed: org.seed,
      fingerprint: await fingerprint(org.publicKey),
      validAt: '2026-01-02T00:00:00.000Z',
      unsigned: manifest,
      ...(await signed(manifest, org.key.privateKey)),
    },
    certificate: {
      description: 'A device certificate (docs/manifest.md) issued by the org key of manifest.json.',
      orgSeed: org.seed,
      orgPublicKey: org.publicKey,
      validAt: '2026-01-02T00:00:00.000Z',
      unsigned: certificate,
      ...(await signed(certificate, org.key.privateKey)),
    },
    identity: {
      description:
        "An employee identity certificate issued by the org key of manifest.json, and the identity key's endorsement of the device of certificate.json (docs/manifest.md, issue 15).",
      orgSeed: org.seed,
      identitySeed: employee.seed,
      validAt: '2026-01-02T00:00:00.000Z',
      identityCertificate: { unsigned: identity, ...(await signed(identity, org.key.privateKey)) },
      endorsement: { unsigned: endorsement, ...(await signed(endorsement, employee.key.privateKey)) },
      revocation: { unsigned: revocation, ...(await signed(revocation, employee.key.privateKey)) },
    },
    link: await linkVector(device.key.privateKey, mls.key.privateKey),
    'signing-strings': {
      description: 'The line-based signing strings of src/wire/protocol.ts and their signatures.',
      enrollTranscriptDevice: {
        signerSeed: device.seed,
        input: { role: 'device', ...enrollInput },
        ...(await line(enrollTranscript('device', enrollInput), device.key.privateKey)),
      },
      enrollTranscriptMls: {
        signerSeed: mls.seed,
        input: { role: 'mls', ...enrollInput },
        ...(await line(enrollTranscript('mls', enrollInput), mls.key.privateKey)),
      },
      identityTranscript: {
        signerSeed: employee.seed,
        input: { ...enrollInput, identityKey: employee.publicKey },
        ...(await line(identityTranscript({ ...enrollInput, identityKey: employee.publicKey }), employee.key.privateKey)),
      },
      authChallenge: {
        signerSeed: device.seed,
        input: { domain: 'globex.example', nonce: 'bm9uY2Utb2YtdGhlLWdhdGV3YXk', deviceId: 'gina-1' },
        ...(await line(authChallenge('globex.example', 'bm9uY2Utb2YtdGhlLWdhdGV3YXk', 'gina-1'), device.key.privateKey)),
      },
      federationSigningString: {
        signerSeed: org.seed,
        body,
        input: fed,
        ...(await line(federationSigningString(fed), org.key.privateKey)),
      },
    },
  };
}

/** X25519 keys of RFC 7748 section 6.1 (A = "Alice", B = "Bob"), so the shared secret is the RFC's. */
export const RFC7748 = {
  aPrivateHex: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  aPublicHex: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  bPrivateHex: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  bPublicHex: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  sharedHex: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
};

/** An X25519 private key from its 32 raw bytes (PKCS #8, RFC 8410). */
export function importX25519Private(hex: string): Promise<CryptoKey> {
  const der = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), Buffer.from(hex, 'hex')]);
  return crypto.subtle.importKey('pkcs8', der, { name: 'X25519' }, false, ['deriveBits']);
}

/** The linking exchange (src/wire/link.ts) with fixed keys, code and IV. */
async function linkVector(deviceKey: CryptoKey, mlsKey: CryptoKey) {
  const aKey = toBase64(Buffer.from(RFC7748.aPublicHex, 'hex'));
  const bKey = toBase64(Buffer.from(RFC7748.bPublicHex, 'hex'));
  const code = 'K7M2Q-9XRTV';
  const transcript = {
    domain: 'globex.example',
    sessionId: '00112233445566778899aabbccddeeff',
    commitment: await linkCommitment(bKey),
    aKey,
    bKey,
  };
  const keys = await deriveLinkKeys(await importX25519Private(RFC7748.aPrivateHex), bKey, transcript);
  const request = { devicePublicKey: 'device', mlsSignatureKey: 'mls' };
  const iv = Buffer.from('000102030405060708090a0b', 'hex');
  const proofInput = { domain: 'globex.example', sessionId: transcript.sessionId, devicePublicKey: 'dev', mlsSignatureKey: 'mls' };
  const line = async (bytes: Uint8Array, key: CryptoKey) => ({ signingString: fromUtf8(bytes), signature: await sign(key, bytes) });
  return {
    description:
      "Linking a device (docs/channel.md): X25519 keys of RFC 7748 6.1, the locator of a code, the commitment to B's key, the transcript, the SAS, a box A seals to B with a fixed IV, and B's proof strings.",
    rfc7748: RFC7748,
    code,
    locator: await linkLocator(code),
    transcript,
    transcriptString: fromUtf8(linkTranscript(transcript)),
    sas: keys.sas,
    box: {
      label: 'request',
      ivHex: toHex(iv),
      value: request,
      sealedToB: await sealLink(keys.toB, transcript.sessionId, 'request', request, iv),
    },
    proofDevice: { input: { role: 'device', ...proofInput }, ...(await line(linkProofTranscript('device', proofInput), deviceKey)) },
    proofMls: { input: { role: 'mls', ...proofInput }, ...(await line(linkProofTranscript('mls', proofInput), mlsKey)) },
  };
}
