/**
 * Issue 15, item 1: the employee's first device creates the identity key and the org certifies
 * it at enrollment (only once it proved holding it); the gateway keeps the certificate and
 * refuses a second identity key for the same employee, without using up the code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import path from 'node:path';
import { startGateway, mlsKeyOptions, type GatewayHandle } from './helpers';
import { enroll, fetchManifest, type KontorError } from '../../src/wire/client';
import { generateKeyPair, sign } from '../../src/wire/ed25519';
import { verifyIdentityCertificate } from '../../src/wire/identity';
import { enrollTranscript, identityTranscript } from '../../src/wire/protocol';

let gw: GatewayHandle;
let orgKey: string;
beforeAll(async () => {
  gw = await startGateway({ domain: 'acme.example' });
  orgKey = (await fetchManifest(gw.domain, { baseUrl: gw.url })).orgPublicKey;
});
afterAll(async () => gw?.stop());

const errCode = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: KontorError) => e.code,
  );
const signer = (k: Awaited<ReturnType<typeof generateKeyPair>>) => ({
  publicKeyB64: k.publicKeyB64,
  sign: (d: Uint8Array) => sign(k.privateKey, d),
});

function storedIdentities(): { employee_id: string; identity_key: string }[] {
  const db = new Database(path.join(gw.dataDir, 'kontor.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT employee_id, identity_key FROM identities ORDER BY employee_id').all() as never;
  } finally {
    db.close();
  }
}

describe('employee identities at enrollment (issue 15: 1)', () => {
  it('the first device gets its identity key certified by the org; the gateway stores the certificate', async () => {
    const [mls, id] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    const code = await gw.enroll('alice', 'Alice Schmidt');
    const r = await enroll({
      gatewayUrl: gw.url,
      domain: gw.domain,
      code,
      ...mlsKeyOptions(mls),
      orgPublicKey: orgKey,
      identity: signer(id),
    });
    expect(r.identity).toMatchObject({
      type: 'kontor.identity-certificate',
      employeeId: 'alice',
      displayName: 'Alice Schmidt',
      orgDomain: 'acme.example',
      identityKey: id.publicKeyB64,
    });
    await expect(verifyIdentityCertificate(r.identity, orgKey, { domain: 'acme.example' })).resolves.toEqual(r.identity);
    expect(storedIdentities()).toContainEqual({ employee_id: 'alice', identity_key: id.publicKeyB64 });
  });

  it('a second identity key for the same employee is refused and the code stays usable; without an identity the device is enrolled org-only', async () => {
    const [id1, id2, mls1, mls2] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()]);
    await enroll({
      gatewayUrl: gw.url,
      domain: gw.domain,
      code: await gw.enroll('bert', 'Bert'),
      ...mlsKeyOptions(mls1),
      identity: signer(id1),
    });
    const code = await gw.enroll('bert', 'Bert');
    await expect(
      errCode(enroll({ gatewayUrl: gw.url, domain: gw.domain, code, ...mlsKeyOptions(mls2), identity: signer(id2) })),
    ).resolves.toBe('conflict');
    expect(storedIdentities().filter((r) => r.employee_id === 'bert')).toEqual([{ employee_id: 'bert', identity_key: id1.publicKeyB64 }]);
    const r = await enroll({ gatewayUrl: gw.url, domain: gw.domain, code, ...mlsKeyOptions(mls2) });
    expect(r.identity).toBeUndefined();
    expect(r.certificate.employeeId).toBe('bert');
  });

  it('an identity key whose proof does not verify is not certified', async () => {
    const [dev, mls, id, other] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()]);
    const code = await gw.enroll('carl', 'Carl');
    const t = { domain: gw.domain, code, devicePublicKey: dev.publicKeyB64, mlsSignatureKey: mls.publicKeyB64 };
    const body = {
      code,
      devicePublicKey: dev.publicKeyB64,
      mlsSignatureKey: mls.publicKeyB64,
      proof: await sign(dev.privateKey, enrollTranscript('device', t)),
      mlsProof: await sign(mls.privateKey, enrollTranscript('mls', t)),
      identityKey: id.publicKeyB64,
      // signed by another key than the one to be certified
      identityProof: await sign(other.privateKey, identityTranscript({ ...t, identityKey: id.publicKeyB64 })),
    };
    const r = await fetch(`${gw.url}/v1/enroll`, { method: 'POST', body: JSON.stringify(body) });
    expect(r.status).toBe(400);
    expect(storedIdentities().some((x) => x.employee_id === 'carl')).toBe(false);
    const noProof = await fetch(`${gw.url}/v1/enroll`, { method: 'POST', body: JSON.stringify({ ...body, identityProof: undefined }) });
    expect(noProof.status).toBe(400);
  });
});
