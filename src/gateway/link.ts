/**
 * The link mailbox (issue 15, wire/link.ts): the new browser B, which holds no certificate
 * yet, opens a session filed under a hash of the code it shows; an enrolled device A of the
 * employee joins it over its authenticated connection; the two exchange a handful of sealed
 * messages; A asks for B's certificate (device.link). The gateway relays ciphertext only.
 *
 * Sessions live in this process's memory, not in the store: they last ten minutes, hold only
 * ciphertext, and losing them (a restart) costs a retry. With several instances B and A must
 * reach the same one (docs/channel.md "Linking a device"), as with any sticky session.
 */
import * as v from 'valibot';
import type { Certificate } from '../wire/certificate';
import { verify } from '../wire/ed25519';
import { randomBytes, toHex } from '../wire/bytes';
import { LINK, linkProofTranscript, type LinkReadResult } from '../wire/link';
import type { MethodParams } from '../wire/protocol';
import { BoundedMap } from './bounded';
import { ApiError } from './errors';
import { issueDeviceCertificate } from './enroll';
import { RateLimiter } from './ratelimit';
import type { Gateway } from './context';
import type { DeviceSession } from './rpc';

interface Session {
  id: string;
  locator: string;
  commitment: string;
  expiresAt: number;
  /** the device that joined (only one ever may) */
  joinedBy: string | null;
  certified: boolean;
  messages: { index: number; from: 'a' | 'b'; body: string }[];
}

/** B: `addr …` and no device; A: `device …` and its device id */
export interface LinkParty {
  key: string;
  deviceId?: string;
}
export const partyA = (deviceId: string): LinkParty => ({ key: `device ${deviceId}`, deviceId });
export const partyB = (address: string): LinkParty => ({ key: `addr ${address}` });

const TEN_MINUTES = 600;

export class LinkMailbox {
  private readonly byId = new BoundedMap<string, Session>(10_000);
  private readonly byLocator = new BoundedMap<string, string>(10_000);
  /** sessions B may open per address */
  readonly opens = new RateLimiter(10 / TEN_MINUTES, 10);
  /** unknown or expired session ids and locators, per address (B) or per device (A): no guessing */
  readonly misses = new RateLimiter(20 / TEN_MINUTES, 20);
  /** certificates A may ask for per device */
  readonly certs = new RateLimiter(3 / TEN_MINUTES, 3);

  constructor(private readonly now: () => number = Date.now) {}

  open(locator: string, commitment: string, client: string): { sessionId: string; expiresAt: number } {
    if (!this.opens.take(`addr ${client}`)) throw new ApiError('rate_limited', 'too many link sessions from this address; try later');
    const known = this.byLocator.get(locator);
    if (known !== undefined && this.live(known)) throw new ApiError('conflict', 'this code is in use: show a new one');
    const s: Session = {
      id: toHex(randomBytes(16)),
      locator,
      commitment,
      expiresAt: this.now() + LINK.ttlMs,
      joinedBy: null,
      certified: false,
      messages: [],
    };
    this.byId.set(s.id, s);
    this.byLocator.set(locator, s.id);
    return { sessionId: s.id, expiresAt: s.expiresAt };
  }

  join(locator: string, deviceId: string): { sessionId: string; commitment: string; expiresAt: number } {
    this.guard(`device ${deviceId}`);
    const id = this.byLocator.get(locator);
    const s = id === undefined ? null : this.live(id);
    if (!s) return this.miss(`device ${deviceId}`, 'no link session for this code: check it, or show a new one');
    // single use: once one device joined, the code leads nowhere else
    if (s.joinedBy !== null) return this.miss(`device ${deviceId}`, 'this code was already used: show a new one');
    s.joinedBy = deviceId;
    this.byLocator.delete(locator);
    return { sessionId: s.id, commitment: s.commitment, expiresAt: s.expiresAt };
  }

  post(sessionId: string, who: LinkParty, body: string): { index: number } {
    const s = this.session(sessionId, who);
    const side = who.deviceId === undefined ? 'b' : 'a';
    if (s.messages.length >= LINK.messagesPerSession) throw new ApiError('too_large', 'this link session carried all it may');
    // B talks only to a device that joined, and only twice (its reveal; nothing else is needed)
    if (side === 'b' && (s.joinedBy === null || s.messages.filter((m) => m.from === 'b').length >= 2))
      throw new ApiError('conflict', 'nothing to answer yet');
    const index = s.messages.length;
    s.messages.push({ index, from: side, body });
    return { index };
  }

  read(sessionId: string, who: LinkParty, after: number): LinkReadResult {
    const s = this.session(sessionId, who);
    const other = who.deviceId === undefined ? 'a' : 'b';
    return {
      messages: s.messages.filter((m) => m.from === other && m.index > after).map(({ index, body }) => ({ index, body })),
      certified: s.certified,
    };
  }

  /** The session A joined, for device.link: it is certified at most once. */
  claimForCertificate(sessionId: string, deviceId: string): void {
    const s = this.session(sessionId, partyA(deviceId));
    if (s.certified) throw new ApiError('conflict', 'this link session already has its certificate');
    s.certified = true;
  }

  private guard(key: string): void {
    if (this.misses.peek(key) < 1) throw new ApiError('rate_limited', 'too many unknown link sessions; try later');
  }

  private miss(key: string, message: string): never {
    this.misses.take(key);
    throw new ApiError('not_found', message);
  }

  private live(id: string): Session | null {
    const s = this.byId.get(id);
    if (!s) return null;
    if (s.expiresAt > this.now()) return s;
    this.byId.delete(id);
    if (this.byLocator.get(s.locator) === id) this.byLocator.delete(s.locator);
    return null;
  }

  /** A's side: only the device that joined; B's side: whoever holds the 128-bit id. */
  private session(sessionId: string, who: LinkParty): Session {
    this.guard(who.key);
    const s = this.live(sessionId);
    if (!s || (who.deviceId !== undefined && s.joinedBy !== who.deviceId)) return this.miss(who.key, 'no such link session, or it expired');
    return s;
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
  if (!links.certs.take(s.deviceId)) throw new ApiError('rate_limited', 'too many linked devices from this device; try later');
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
  links.claimForCertificate(p.sessionId, s.deviceId);
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
