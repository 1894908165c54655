/**
 * The link mailbox (issue 15, wire/link.ts): the new browser B, which holds no certificate
 * yet, opens a session filed under a hash of the code it shows; an enrolled device A of the
 * employee joins it over its authenticated connection; the two exchange a handful of sealed
 * messages; A asks for B's certificate (device.link). The gateway relays ciphertext only.
 *
 * Sessions live in the store (sqlite-links.ts, pg-links.ts), so with several instances B's
 * requests and A's connection may reach different ones; the limits below are shared by the
 * instances too when they share PostgreSQL (server.ts). Nothing waits: both sides poll
 * (wire/link-flow.ts), and each read goes to the store.
 */
import * as v from 'valibot';
import type { Certificate } from '../wire/certificate';
import { verify } from '../wire/ed25519';
import { randomBytes, toHex } from '../wire/bytes';
import { LINK, linkProofTranscript, type LinkReadResult } from '../wire/link';
import type { MethodParams } from '../wire/protocol';
import { ApiError } from './errors';
import { issueDeviceCertificate } from './enroll';
import type { Limiter } from './ratelimit';
import type { Gateway } from './context';
import type { DeviceSession } from './rpc';
import type { LinkSide, Store } from './store/types';

/** B: `addr …` and no device; A: `device …` and its device id */
export interface LinkParty {
  key: string;
  side: LinkSide;
}
export const partyA = (deviceId: string): LinkParty => ({ key: `device ${deviceId}`, side: { deviceId } });
export const partyB = (address: string): LinkParty => ({ key: `addr ${address}`, side: { deviceId: null } });

const TEN_MINUTES = 600;
export const LINK_LIMITS = {
  /** sessions B may open per address */
  opens: { rate: 10 / TEN_MINUTES, burst: 10 },
  /** unknown or expired session ids and locators, per address (B) or per device (A): no guessing */
  misses: { rate: 20 / TEN_MINUTES, burst: 20 },
  /** certificates A may ask for per device */
  certs: { rate: 3 / TEN_MINUTES, burst: 3 },
} as const;

export interface LinkLimiters {
  opens: Limiter;
  misses: Limiter;
  certs: Limiter;
}

export class LinkMailbox {
  constructor(
    private readonly store: Store,
    readonly limits: LinkLimiters,
    private readonly now: () => number = Date.now,
  ) {}

  async open(locator: string, commitment: string, client: string): Promise<{ sessionId: string; expiresAt: number }> {
    if (!(await this.limits.opens.take(`addr ${client}`)))
      throw new ApiError('rate_limited', 'too many link sessions from this address; try later');
    const now = this.now();
    const s = { sessionId: toHex(randomBytes(16)), locator, commitment, expiresAt: now + LINK.ttlMs };
    const r = await this.store.openLinkSession(s, now, LINK.liveSessions);
    if (r === 'conflict') throw new ApiError('conflict', 'this code is in use: show a new one');
    // the old in-memory mailbox dropped the oldest session instead, which let a flood end real ones
    if (r === 'full') throw new ApiError('rate_limited', 'too many devices are being linked right now; try again in a few minutes');
    return { sessionId: s.sessionId, expiresAt: s.expiresAt };
  }

  join(locator: string, deviceId: string): Promise<{ sessionId: string; commitment: string; expiresAt: number }> {
    // single use: once one device joined, the code leads nowhere (the store forgets the locator)
    return this.guarded(
      `device ${deviceId}`,
      async () => {
        const r = await this.store.joinLinkSession(locator, deviceId, this.now());
        return r.ok ? { sessionId: r.sessionId, commitment: r.commitment, expiresAt: r.expiresAt } : null;
      },
      'no link session for this code: check it, or show a new one',
    );
  }

  async post(sessionId: string, who: LinkParty, body: string): Promise<{ index: number }> {
    const r = await this.guarded(who.key, async () => {
      const p = await this.store.postLinkMessage(sessionId, who.side, body, this.now());
      return p.ok || p.code !== 'not_found' ? p : null;
    });
    if (r.ok) return { index: r.index };
    if (r.code === 'full') throw new ApiError('too_large', 'this link session carried all it may');
    // B talks only to a device that joined, and only twice (its reveal and its "ready")
    throw new ApiError('conflict', 'nothing to answer yet');
  }

  read(sessionId: string, who: LinkParty, after: number): Promise<LinkReadResult> {
    return this.guarded(who.key, () => this.store.readLinkMessages(sessionId, who.side, after, this.now()));
  }

  /** The session A joined, for device.link: it is certified at most once. */
  async claimForCertificate(sessionId: string, deviceId: string): Promise<void> {
    const r = await this.guarded(`device ${deviceId}`, async () => {
      const c = await this.store.certifyLinkSession(sessionId, deviceId, this.now());
      return c === 'not_found' ? null : c;
    });
    if (r === 'conflict') throw new ApiError('conflict', 'this link session already has its certificate');
  }

  /**
   * Runs `work` with one miss reserved for `key` before it starts (a limit in PostgreSQL is
   * charged by one atomic statement, so guesses racing on several instances cannot all pass a
   * check made before any was charged); a hit gives the reservation back, a miss (null) keeps it.
   */
  private async guarded<T>(key: string, work: () => Promise<T | null>, missed = 'no such link session, or it expired'): Promise<T> {
    if (!(await this.limits.misses.take(key))) throw new ApiError('rate_limited', 'too many unknown link sessions; try later');
    const r = await work();
    if (r === null) throw new ApiError('not_found', missed);
    await this.limits.misses.refund(key);
    return r;
  }
}

/**
 * The certificate for B, asked for by A over its authenticated connection: for A's own
 * employee only (the session names no one), for keys B proved holding over this session, from a
 * device that is enrolled and not revoked. The gateway never sees the identity key: A endorses
 * B itself.
 */
export async function certifyLinked(
  gw: Gateway,
  links: LinkMailbox,
  s: DeviceSession,
  p: MethodParams<'device.link'>,
): Promise<{ certificate: Certificate }> {
  if (!(await links.limits.certs.take(s.deviceId)))
    throw new ApiError('rate_limited', 'too many linked devices from this device; try later');
  const a = await gw.store.getDevice(s.deviceId);
  if (!a || a.revokedAt !== null || a.employeeId !== s.employeeId)
    throw new ApiError('forbidden', 'only an enrolled device of the employee links another');
  if (p.devicePublicKey === p.mlsSignatureKey) throw new ApiError('bad_request', 'the device key and the MLS signature key must differ');
  const t = { domain: gw.config.domain, sessionId: p.sessionId, devicePublicKey: p.devicePublicKey, mlsSignatureKey: p.mlsSignatureKey };
  const [deviceOk, mlsOk] = await Promise.all([
    verify(p.devicePublicKey, p.proof, linkProofTranscript('device', t)),
    verify(p.mlsSignatureKey, p.mlsProof, linkProofTranscript('mls', t)),
  ]);
  if (!deviceOk || !mlsOk) throw new ApiError('bad_request', 'the new device did not prove holding its keys for this link session');
  const mine = await gw.store.listDevices({ employeeId: s.employeeId, includeRevoked: true });
  if (mine.some((d) => [d.devicePublicKey, d.mlsSignatureKey].some((k) => k === p.devicePublicKey || k === p.mlsSignatureKey)))
    throw new ApiError('conflict', 'this device key or MLS signature key is already enrolled');
  // the session is used up before the certificate exists: a second request cannot get another
  await links.claimForCertificate(p.sessionId, s.deviceId);
  const now = Date.now();
  const certificate = await issueDeviceCertificate(gw, { employeeId: a.employeeId, displayName: a.displayName, ...p }, now);
  const { deviceId } = certificate;
  await gw.store.addDevice({
    deviceId,
    employeeId: a.employeeId,
    displayName: a.displayName,
    devicePublicKey: p.devicePublicKey,
    mlsSignatureKey: p.mlsSignatureKey,
    certificate,
    createdAt: now,
    revokedAt: null,
  });
  gw.count.auth({ kind: 'link', result: 'ok' });
  gw.log.info('device linked', { deviceId, employeeId: a.employeeId, linkedBy: s.deviceId });
  return { certificate };
}

export const validLink = <S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> => {
  const r = v.safeParse(schema, input);
  if (!r.success) throw new ApiError('bad_request', `invalid link request: ${r.issues[0]?.message ?? ''}`);
  return r.output;
};
