import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/wire/ed25519';
import {
  signManifest,
  verifyManifest,
  fingerprint,
  type ManifestError,
  MANIFEST_TYPE,
  type UnsignedManifest,
} from '../../src/wire/manifest';
import { signCertificate, verifyCertificate, type CertificateError, CERT_TYPE } from '../../src/wire/certificate';

const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();

async function manifest(over: Partial<UnsignedManifest> = {}) {
  const org = await generateKeyPair();
  const m = await signManifest(
    {
      type: MANIFEST_TYPE,
      version: 1,
      orgName: 'ACME GmbH',
      domain: 'acme.example',
      gatewayUrl: 'https://gw.acme.example',
      orgPublicKey: org.publicKeyB64,
      contacts: [{ id: 'sales', name: 'Sales' }],
      profiles: ['https://www.linkedin.com/company/acme'],
      issuedAt: iso(now),
      expiresAt: iso(now + 86_400_000),
      ...over,
    },
    org.privateKey,
  );
  return { org, m };
}

describe('manifest', () => {
  it('verifies a signed manifest and pins by fingerprint', async () => {
    const { org, m } = await manifest();
    const fp = await fingerprint(org.publicKeyB64);
    expect(fp).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    await expect(verifyManifest(JSON.parse(JSON.stringify(m)), { domain: 'acme.example', pinnedFingerprint: fp })).resolves.toMatchObject({
      orgName: 'ACME GmbH',
    });
  });

  it('rejects tampering, wrong domain, expiry, a foreign key and unknown fields', async () => {
    const { m } = await manifest();
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: ManifestError) => e.code,
      );
    expect(await code(verifyManifest({ ...m, orgName: 'Evil GmbH' }))).toBe('bad_signature');
    expect(await code(verifyManifest({ ...m, contacts: [] }))).toBe('bad_signature');
    expect(await code(verifyManifest(m, { domain: 'globex.example' }))).toBe('wrong_domain');
    expect(await code(verifyManifest(m, { now: new Date(now + 2 * 86_400_000) }))).toBe('expired');
    expect(await code(verifyManifest({ ...m, extra: 1 }))).toBe('malformed');
    const other = await manifest();
    expect(await code(verifyManifest(m, { pinnedFingerprint: await fingerprint(other.org.publicKeyB64) }))).toBe('key_mismatch');
    // a lookalike signs a self-consistent manifest for the same domain with its own key: the pin catches it
    expect(await code(verifyManifest(other.m, { pinnedFingerprint: await fingerprint(m.orgPublicKey) }))).toBe('key_mismatch');
  });
});

describe('device certificate', () => {
  it('verifies against the org key and rejects forgeries', async () => {
    const org = await generateKeyPair();
    const dev = await generateKeyPair();
    const cert = await signCertificate(
      {
        type: CERT_TYPE,
        v: 1,
        deviceId: 'd1',
        employeeId: 'alice',
        displayName: 'Alice Schmidt',
        orgDomain: 'acme.example',
        devicePublicKey: dev.publicKeyB64,
        mlsSignatureKey: dev.publicKeyB64,
        issuedAt: iso(now),
        expiresAt: iso(now + 1000_000),
      },
      org.privateKey,
    );
    await expect(verifyCertificate(cert, org.publicKeyB64, { domain: 'acme.example' })).resolves.toMatchObject({ employeeId: 'alice' });
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: CertificateError) => e.code,
      );
    expect(await code(verifyCertificate({ ...cert, employeeId: 'ceo' }, org.publicKeyB64))).toBe('bad_signature');
    expect(await code(verifyCertificate(cert, dev.publicKeyB64))).toBe('bad_signature');
    expect(await code(verifyCertificate(cert, org.publicKeyB64, { domain: 'globex.example' }))).toBe('wrong_domain');
    expect(await code(verifyCertificate(cert, org.publicKeyB64, { now: new Date(now + 2000_000) }))).toBe('expired');
    expect(await code(verifyCertificate({ ...cert, signature: 'AAAA' }, org.publicKeyB64))).toBe('malformed');
  });
});
