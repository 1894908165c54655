/**
 * Linking a new browser to an employee identity (issue 15; docs/channel.md "Linking a device").
 *
 * The new browser (B) and an enrolled device of the same employee (A) meet in a mailbox on
 * their own gateway, found by a short code B shows. They agree an ephemeral X25519 key and
 * both show a short authentication string (SAS) derived from it; the employee compares them
 * on A. B commits to its key before it sees A's and reveals it only afterwards, so a relaying
 * gateway that swaps keys has to fix both of its keys before it can know either SAS: one try,
 * one in a million (as in ZRTP and Matrix SAS verification). The gateway only relays and sees
 * ciphertext; the code only finds the mailbox, the SAS is what authenticates it.
 */
import * as v from 'valibot';
import { Certificate } from './certificate';
import { DeviceEndorsement, IdentityCertificate } from './identity';
import { DisplayName, Domain, Ident, Opaque, PublicKeyB64, SignatureB64 } from './schemas';
import { fromBase64, fromUtf8, randomBytes, sha256, toBase64, toHex, utf8 } from './bytes';

export const LINK = {
  ttlMs: 10 * 60_000,
  /** decoded bytes of one relayed message (A's history chunks are the largest) */
  messageBytes: 96 * 1024,
  /** plaintext bytes of one history chunk, so its sealed form fits a message */
  historyChunkBytes: 64 * 1024,
  historyChunks: 16,
  /** pinned partners A passes on in its grant: at their longest they keep the sealed grant under messageBytes */
  partners: 100,
  /** messages a session relays in all: A's hello, grant and history, B's reveal */
  messagesPerSession: 20,
  /** messages B posts: its reveal and its "ready" */
  postsByB: 2,
  /** live sessions a gateway keeps at most: opens are limited per address, this bounds them all */
  liveSessions: 10_000,
  /** what B (unauthenticated) may post in one HTTP body */
  unauthenticatedBodyBytes: 8 * 1024,
} as const;

const ALPHABET = 'ABCDEFGHJKMNPQRSTVWXYZ0123456789';
const CODE_LENGTH = 10;

/** 10 characters of Crockford-style base32 in two groups of 5 (50 bits): typed on A within 10 minutes. */
export function newLinkCode(): string {
  const b = randomBytes(CODE_LENGTH);
  let s = '';
  for (let i = 0; i < CODE_LENGTH; i++) s += ALPHABET[b[i]! & 31];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

/** The code as typed, without separators and with look-alikes mapped; null if it cannot be a code. */
export function normalizeLinkCode(typed: string): string | null {
  const s = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1').replace(/U/g, 'V');
  if (s.length !== CODE_LENGTH) return null;
  for (const c of s) if (!ALPHABET.includes(c)) return null;
  return s;
}

const Hex = (bytes: number) => v.pipe(v.string(), v.regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `must be ${bytes} bytes of hex`));
export const SessionId = Hex(16);
export const Locator = Hex(32);

/** What the gateway files the mailbox under: a hash of the code, so the code itself is never sent. */
export async function linkLocator(code: string): Promise<string> {
  const norm = normalizeLinkCode(code);
  if (norm === null) throw new Error('not a link code');
  return toHex(await sha256(utf8(`kontor-link-locator-v1\n${norm}`)));
}

export async function linkCommitment(publicKeyB64: string): Promise<string> {
  return toBase64(await sha256(utf8(`kontor-link-commit-v1\n${publicKeyB64}`)));
}

export interface LinkKeys {
  /** six digits, "123 456": both screens show it */
  sas: string;
  /** A seals to B with it */
  toB: CryptoKey;
  /** B seals to A with it */
  toA: CryptoKey;
}

export interface LinkTranscript {
  domain: string;
  sessionId: string;
  commitment: string;
  aKey: string;
  bKey: string;
}

export const linkTranscript = (t: LinkTranscript): Uint8Array =>
  utf8(`kontor-link-v1\n${t.domain}\n${t.sessionId}\n${t.commitment}\n${t.aKey}\n${t.bKey}`);

export interface Ephemeral {
  privateKey: CryptoKey;
  publicKeyB64: string;
}

export async function generateEphemeral(): Promise<Ephemeral> {
  const kp = (await crypto.subtle.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as CryptoKeyPair;
  return { privateKey: kp.privateKey, publicKeyB64: toBase64(new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey))) };
}

/** The SAS and both direction keys from the X25519 secret, bound to the whole transcript. */
export async function deriveLinkKeys(own: CryptoKey, peerB64: string, t: LinkTranscript): Promise<LinkKeys> {
  const peer = await crypto.subtle.importKey('raw', fromBase64(peerB64) as BufferSource, { name: 'X25519' }, false, []);
  const shared = await crypto.subtle.deriveBits({ name: 'X25519', public: peer }, own, 256);
  return linkKeysFromSecret(new Uint8Array(shared), t);
}

/** Split out for fixed test vectors: the same secret and transcript always give the same SAS and keys. */
export async function linkKeysFromSecret(secret: Uint8Array, t: LinkTranscript): Promise<LinkKeys> {
  const ikm = await crypto.subtle.importKey('raw', secret as BufferSource, 'HKDF', false, ['deriveBits']);
  const salt = await sha256(linkTranscript(t));
  const bits = async (info: string, n: number) =>
    new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: 'HKDF', hash: 'SHA-256', salt: salt as BufferSource, info: utf8(info) as BufferSource },
        ikm,
        n,
      ),
    );
  const sasBits = await bits('kontor-link-sas-v1', 32);
  const n = (((sasBits[0]! << 24) | (sasBits[1]! << 16) | (sasBits[2]! << 8) | sasBits[3]!) >>> 0) % 1_000_000;
  const digits = n.toString().padStart(6, '0');
  const aes = async (info: string) =>
    crypto.subtle.importKey('raw', (await bits(info, 256)) as BufferSource, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { sas: `${digits.slice(0, 3)} ${digits.slice(3)}`, toB: await aes('kontor-link-to-b-v1'), toA: await aes('kontor-link-to-a-v1') };
}

const boxAad = (sessionId: string, label: string) => utf8(`kontor-link-box-v1\n${sessionId}\n${label}`);

/** Seals a JSON value; `label` (e.g. "grant", "history 3") is bound in, so boxes cannot be swapped. */
export async function sealLink(key: CryptoKey, sessionId: string, label: string, value: unknown, iv = randomBytes(12)): Promise<string> {
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: iv as BufferSource, additionalData: boxAad(sessionId, label) as BufferSource },
    key,
    utf8(JSON.stringify(value)) as BufferSource,
  );
  const out = new Uint8Array(12 + ct.byteLength);
  out.set(iv);
  out.set(new Uint8Array(ct), 12);
  return toBase64(out);
}

export class LinkError extends Error {
  override name = 'LinkError';
  constructor(
    readonly code: 'tampered' | 'malformed' | 'mismatch' | 'expired',
    message: string,
  ) {
    super(message);
  }
}

export async function openLink(key: CryptoKey, sessionId: string, label: string, box: string): Promise<unknown> {
  try {
    const raw = fromBase64(box);
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: raw.slice(0, 12) as BufferSource, additionalData: boxAad(sessionId, label) as BufferSource },
      key,
      raw.slice(12) as BufferSource,
    );
    return JSON.parse(fromUtf8(new Uint8Array(pt)));
  } catch {
    throw new LinkError('tampered', 'a linking message does not decrypt: it was changed on the way, or the keys differ');
  }
}

/**
 * What B's two keys sign for the gateway (like kontor-enroll-v2): bound to the gateway, the
 * mailbox and the pair of keys, so A can ask for a certificate only for keys B holds.
 */
export const linkProofTranscript = (
  role: 'device' | 'mls',
  p: { domain: string; sessionId: string; devicePublicKey: string; mlsSignatureKey: string },
): Uint8Array => utf8(`kontor-link-device-v1\n${role}\n${p.domain}\n${p.sessionId}\n${p.devicePublicKey}\n${p.mlsSignatureKey}`);

// ---- relayed messages (plaintext envelope; the boxes inside are sealed) --------------------
export const LinkEnvelope = v.variant('t', [
  v.strictObject({ t: v.literal('hello'), key: PublicKeyB64 }),
  v.strictObject({ t: v.literal('reveal'), key: PublicKeyB64, box: v.pipe(v.string(), v.maxLength(4096)) }),
  v.strictObject({ t: v.literal('box'), label: v.pipe(v.string(), v.maxLength(32)), box: v.string() }),
]);
export type LinkEnvelope = v.InferOutput<typeof LinkEnvelope>;

export const encodeEnvelope = (e: LinkEnvelope): string => toBase64(utf8(JSON.stringify(e)));
export function decodeEnvelope(body: string): LinkEnvelope {
  try {
    return v.parse(LinkEnvelope, JSON.parse(fromUtf8(fromBase64(body))));
  } catch {
    throw new LinkError('malformed', 'a linking message is malformed');
  }
}

/** B → A, sealed: B's keys and its proofs for the gateway. */
export const LinkRequest = v.strictObject({
  devicePublicKey: PublicKeyB64,
  mlsSignatureKey: PublicKeyB64,
  proof: SignatureB64,
  mlsProof: SignatureB64,
  /** B's label for itself ("Chromium on Linux"), shown on A instead of the device id; not sent to the gateway */
  label: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
});
export type LinkRequest = v.InferOutput<typeof LinkRequest>;

/**
 * A partner whose org key A has pinned, passed on so B accepts conversations with it (issue 15):
 * `orgKey` is the pinned fingerprint as A stores it, `source` how A came to know it.
 */
export const TransferredPartner = v.strictObject({
  domain: Domain,
  orgKey: v.pipe(v.string(), v.regex(/^[A-Za-z0-9 :_+/=.-]{16,200}$/, 'must be a key fingerprint')),
  source: v.picklist(['policy', 'user']),
});
export type TransferredPartner = v.InferOutput<typeof TransferredPartner>;

/** A → B, sealed: B's certificate and chain, and the identity key itself (Signal's model: every linked device can link and revoke). */
export const LinkGrant = v.strictObject({
  certificate: Certificate,
  identity: IdentityCertificate,
  endorsement: DeviceEndorsement,
  /** base64 of the identity key's 32-byte public then 32-byte private half */
  identityKeyPair: v.pipe(v.string(), v.maxLength(128)),
  orgName: DisplayName,
  /** A's own label for itself, shown on B ("linked from …") */
  linkedFrom: DisplayName,
  historyChunks: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(LINK.historyChunks)),
  /** absent from grants of builds before partners were passed on */
  partners: v.optional(v.pipe(v.array(TransferredPartner), v.maxLength(LINK.partners))),
});
export type LinkGrant = v.InferOutput<typeof LinkGrant>;

export const HistoryMessage = v.strictObject({
  id: Ident,
  sender: v.strictObject({ deviceId: Ident, employeeId: Ident, displayName: DisplayName, orgDomain: Domain }),
  direction: v.picklist(['in', 'out']),
  text: v.pipe(v.string(), v.maxLength(32 * 1024)),
  at: v.pipe(v.number(), v.integer(), v.minValue(0)),
});
export type HistoryMessage = v.InferOutput<typeof HistoryMessage>;
export const HistoryChunk = v.strictObject({
  conversations: v.array(
    v.strictObject({
      id: Ident,
      messages: v.array(HistoryMessage),
    }),
  ),
});
export type HistoryChunk = v.InferOutput<typeof HistoryChunk>;

// ---- gateway requests -----------------------------------------------------------------------
export const LinkBody = Opaque(LINK.messageBytes);
export const LinkOpenRequest = v.strictObject({ locator: Locator, commitment: PublicKeyB64 });
export const LinkPostRequest = v.strictObject({ sessionId: SessionId, body: LinkBody });
export const LinkReadRequest = v.strictObject({
  sessionId: SessionId,
  after: v.pipe(v.number(), v.integer(), v.minValue(-1), v.maxValue(LINK.messagesPerSession)),
});
export interface LinkReadResult {
  messages: { index: number; body: string }[];
  /** the gateway issued the certificate for this session (A's grant follows) */
  certified: boolean;
}
