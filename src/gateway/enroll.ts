/** Enrollment: one-time codes (issued by the admin CLI) redeemed for an org-signed device certificate. */
import * as v from 'valibot';
import { signCertificate, CERT_TYPE, type Certificate } from '../wire/certificate';
import { EnrollRequest, enrollChallenge } from '../wire/protocol';
import { verify } from '../wire/ed25519';
import { randomBytes, toHex } from '../wire/bytes';
import { ApiError } from './errors';
import type { Gateway } from './context';
import type { Store } from './store/types';

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
  await store.createEnrollCode({ code, employeeId, displayName, expiresAt });
  return { code, expiresAt };
}

export async function redeem(gw: Gateway, body: unknown, ip: string): Promise<{ certificate: Certificate }> {
  // rate-limit failures per IP: the bucket is only charged on failure, but checked first
  if (gw.limits.enrollFailures.peek(ip) < 1) throw new ApiError('rate_limited', 'too many failed enrollment attempts; try later');
  const fail = (e: ApiError) => {
    gw.limits.enrollFailures.take(ip);
    gw.count.auth({ kind: 'enroll', result: e.code });
    return e;
  };
  const parsed = v.safeParse(EnrollRequest, body);
  if (!parsed.success) throw fail(new ApiError('bad_request', `invalid enrollment request: ${parsed.issues[0]?.message}`));
  const req = parsed.output;
  if (!(await verify(req.devicePublicKey, req.proof, enrollChallenge(gw.config.domain, req.code, req.mlsSignatureKey)))) {
    throw fail(new ApiError('bad_request', 'proof of possession of the device key does not verify'));
  }
  const now = Date.now();
  const code = await gw.store.redeemEnrollCode(req.code, now);
  if (!code) throw fail(new ApiError('invalid_code', 'enrollment code unknown, used or expired'));
  const deviceId = 'd' + toHex(randomBytes(8));
  const certificate = await signCertificate({
    type: CERT_TYPE, v: 1, deviceId, employeeId: code.employeeId, displayName: code.displayName,
    orgDomain: gw.config.domain, devicePublicKey: req.devicePublicKey, mlsSignatureKey: req.mlsSignatureKey,
    issuedAt: new Date(now).toISOString(), expiresAt: new Date(now + CERT_VALIDITY_MS).toISOString(),
  }, gw.orgKey.privateKey);
  await gw.store.addDevice({
    deviceId, employeeId: code.employeeId, displayName: code.displayName, devicePublicKey: req.devicePublicKey,
    mlsSignatureKey: req.mlsSignatureKey, certificate, createdAt: now, revokedAt: null,
  });
  gw.count.auth({ kind: 'enroll', result: 'ok' });
  gw.log.info('device enrolled', { deviceId, employeeId: code.employeeId });
  return { certificate };
}

export const ENROLL_FAILURE_LIMIT = { rate: FAILURES_PER_WINDOW / 600, burst: FAILURES_PER_WINDOW };
