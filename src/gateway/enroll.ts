/** Enrollment: one-time codes (issued by the admin CLI) redeemed for an org-signed device certificate. */
import * as v from 'valibot';
import { signCertificate, CERT_TYPE, type Certificate } from '../wire/certificate';
import { IDENTITY_CERT_TYPE, signIdentityCertificate, type IdentityCertificate } from '../wire/identity';
import { EnrollRequest, enrollTranscript, identityTranscript } from '../wire/protocol';
import { hashEnrollCode } from './store/schema';
import { sign, verify } from '../wire/ed25519';
import { randomBytes, toHex } from '../wire/bytes';
import { ApiError } from './errors';
import type { Gateway } from './context';
import type { IdentityRecord, Store } from './store/types';

type EnrollResult = { certificate: Certificate; identity?: IdentityCertificate };

const CERT_VALIDITY_MS = 365 * 86_400_000;
const FAILURES_PER_WINDOW = 10;

/** 16 characters of Crockford-ish base32 in groups of 4: easy to read aloud, 80 bits of entropy. */
export function newEnrollCode(): string {
  const alphabet = 'ABCDEFGHJKMNPQRSTVWXYZ0123456789';
  const b = randomBytes(16);
  let s = '';
  for (let i = 0; i < 16; i++) s += alphabet[b[i]! & 31];
  return s.match(/.{4}/g)!.join('-');
}

export async function issueEnrollCode(store: Store, employeeId: string, displayName: string, ttlMs: number) {
  const code = newEnrollCode();
  const expiresAt = Date.now() + ttlMs;
  await store.createEnrollCode({ code: hashEnrollCode(code), employeeId, displayName, expiresAt });
  return { code, expiresAt };
}

/**
 * Redeems a code for a certificate. Failures are limited per client address and per code, and
 * the limit is reserved before any asynchronous work: with check-then-charge, 40 requests
 * arriving together all passed the check before the first was charged. A success gives its
 * reservation back, so only failures count.
 */
export async function redeem(gw: Gateway, body: unknown, client: string): Promise<EnrollResult> {
  const limit = gw.limits.enrollFailures;
  const reserved: string[] = [];
  // a limit in this process is charged at the call, one in PostgreSQL by one atomic statement
  const reserve = async (key: string) => {
    if (!(await limit.take(key))) throw new ApiError('rate_limited', 'too many failed enrollment attempts; try later');
    reserved.push(key);
  };
  try {
    await reserve(`addr ${client}`);
    const parsed = v.safeParse(EnrollRequest, body);
    if (!parsed.success) {
      const i = parsed.issues[0];
      // clients from before proof of the MLS key (kontor-enroll-v2) send no mlsProof
      throw new ApiError('bad_request', `invalid enrollment request: ${i ? `${v.getDotPath(i) ?? ''} ${i.message}` : ''}`.trim());
    }
    const req = parsed.output;
    const codeHash = hashEnrollCode(req.code);
    // one code (and so one employee) cannot be tried more often from many addresses either
    await reserve(`code ${codeHash}`);
    const result = await certify(gw, req, codeHash);
    await Promise.all(reserved.map((k) => limit.refund(k)));
    gw.count.auth({ kind: 'enroll', result: 'ok' });
    return result;
  } catch (e) {
    if (e instanceof ApiError) gw.count.auth({ kind: 'enroll', result: e.code });
    throw e;
  }
}

async function certify(gw: Gateway, req: EnrollRequest, codeHash: string): Promise<EnrollResult> {
  if (req.devicePublicKey === req.mlsSignatureKey)
    throw new ApiError('bad_request', 'the device key and the MLS signature key must differ');
  const t = { domain: gw.config.domain, code: req.code, devicePublicKey: req.devicePublicKey, mlsSignatureKey: req.mlsSignatureKey };
  const [deviceOk, mlsOk] = await Promise.all([
    verify(req.devicePublicKey, req.proof, enrollTranscript('device', t)),
    verify(req.mlsSignatureKey, req.mlsProof, enrollTranscript('mls', t)),
  ]);
  if (!deviceOk) throw new ApiError('bad_request', 'proof of possession of the device key does not verify');
  if (!mlsOk) throw new ApiError('bad_request', 'proof of possession of the MLS signature key does not verify');
  if ((req.identityKey === undefined) !== (req.identityProof === undefined))
    throw new ApiError('bad_request', 'identityKey and identityProof come together');
  if (req.identityKey !== undefined && (req.identityKey === req.devicePublicKey || req.identityKey === req.mlsSignatureKey)) {
    throw new ApiError('bad_request', 'the identity key must differ from the device keys');
  }
  if (
    req.identityKey !== undefined &&
    !(await verify(req.identityKey, req.identityProof!, identityTranscript({ ...t, identityKey: req.identityKey })))
  ) {
    throw new ApiError('bad_request', 'proof of possession of the identity key does not verify');
  }
  const now = Date.now();
  const code = await gw.store.getEnrollCode(codeHash, now);
  if (!code) throw new ApiError('invalid_code', 'enrollment code unknown, used or expired');
  const certificate = await issueDeviceCertificate(
    gw,
    { ...code, devicePublicKey: req.devicePublicKey, mlsSignatureKey: req.mlsSignatureKey },
    now,
  );
  const { deviceId } = certificate;
  const identity = req.identityKey === undefined ? undefined : await certifyIdentity(gw, code, req.identityKey, now);
  // the code is used up and the device added in one transaction, only if both keys are new
  // and the employee has no other identity yet
  const outcome = await gw.store.enrollDevice(
    codeHash,
    {
      deviceId,
      employeeId: code.employeeId,
      displayName: code.displayName,
      devicePublicKey: req.devicePublicKey,
      mlsSignatureKey: req.mlsSignatureKey,
      certificate,
      createdAt: now,
      revokedAt: null,
    },
    now,
    identity,
  );
  if (outcome === 'invalid_code') throw new ApiError('invalid_code', 'enrollment code unknown, used or expired');
  if (outcome === 'key_enrolled') throw new ApiError('conflict', 'this device key or MLS signature key is already enrolled');
  if (outcome === 'identity_exists') {
    throw new ApiError(
      'conflict',
      'this employee already has an identity: link this browser from one of their devices, or ask the admin for an identity reset',
    );
  }
  gw.log.info('device enrolled', { deviceId, employeeId: code.employeeId, identity: identity ? 'certified' : 'none' });
  return identity ? { certificate, identity: identity.certificate } : { certificate };
}

/** A new device's certificate from the org key: a fresh device id, valid a year. Enrollment and linking (link.ts) both issue it. */
export function issueDeviceCertificate(
  gw: Gateway,
  p: { employeeId: string; displayName: string; devicePublicKey: string; mlsSignatureKey: string },
  now: number,
): Promise<Certificate> {
  return signCertificate(
    {
      type: CERT_TYPE,
      v: 1,
      deviceId: 'd' + toHex(randomBytes(8)),
      employeeId: p.employeeId,
      displayName: p.displayName,
      orgDomain: gw.config.domain,
      devicePublicKey: p.devicePublicKey,
      mlsSignatureKey: p.mlsSignatureKey,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + CERT_VALIDITY_MS).toISOString(),
    },
    gw.orgKey.privateKey,
  );
}

/**
 * The identity certificate for the key the employee's first device created. An employee who
 * already has one gets that same certificate back when the key matches (a repeated request);
 * another key is refused by the store (identity_exists).
 */
async function certifyIdentity(
  gw: Gateway,
  code: { employeeId: string; displayName: string },
  identityKey: string,
  now: number,
): Promise<IdentityRecord> {
  const known = await gw.store.getIdentity(code.employeeId);
  if (known && known.identityKey === identityKey) return known;
  const certificate = await signIdentityCertificate(
    {
      type: IDENTITY_CERT_TYPE,
      v: 1,
      employeeId: code.employeeId,
      displayName: code.displayName,
      orgDomain: gw.config.domain,
      identityKey,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + CERT_VALIDITY_MS).toISOString(),
    },
    (d) => sign(gw.orgKey.privateKey, d),
  );
  return { employeeId: code.employeeId, identityKey, certificate, createdAt: now };
}

export const ENROLL_FAILURE_LIMIT = { rate: FAILURES_PER_WINDOW / 600, burst: FAILURES_PER_WINDOW };
