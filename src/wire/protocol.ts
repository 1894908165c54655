/**
 * Device <-> gateway protocol: HTTP enrollment, WebSocket challenge auth, JSON RPC frames,
 * push events. Every payload a gateway receives is validated against these schemas.
 */
import * as v from 'valibot';
import { Certificate } from './certificate';
import { DeviceAddress, Domain, Ident, Opaque, PublicKeyB64, SignatureB64 } from './schemas';
import { utf8 } from './bytes';
import { DeviceRevocation } from './identity';
import { Locator, LinkPostRequest, LinkReadRequest, SessionId, type LinkReadResult } from './link';

export const LIMITS = {
  /** decoded ciphertext bytes per message */
  messageBytes: 256 * 1024,
  keyPackageBytes: 16 * 1024,
  keyPackagesPerUpload: 100,
  /** HTTP bodies and WebSocket frames */
  bodyBytes: 512 * 1024,
  membersPerConversation: 1000,
  fetchLimit: 500,
  /** device ids per revocation query (revocations.check, /v1/fed/revocations) */
  revocationQuery: 100,
} as const;

// ---- errors -------------------------------------------------------------------------------
export type ErrorCode =
  | 'bad_request'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'too_large'
  | 'rate_limited'
  | 'conflict'
  | 'epoch_conflict'
  | 'invalid_code'
  | 'revoked'
  | 'unavailable'
  | 'internal';

// ---- enrollment (POST /v1/enroll) -------------------------------------------------------
export const EnrollRequest = v.strictObject({
  code: v.pipe(v.string(), v.regex(/^[A-Z0-9-]{8,32}$/, 'malformed code')),
  devicePublicKey: PublicKeyB64,
  mlsSignatureKey: PublicKeyB64,
  /** the device key's signature over enrollTranscript('device', ...) */
  proof: SignatureB64,
  /** the MLS signature key's signature over enrollTranscript('mls', ...) */
  mlsProof: SignatureB64,
  /**
   * The employee identity key the device created (issue 15), with its signature over
   * identityTranscript: the org certifies it if the employee has no identity yet. Without it
   * the device is certified by the org alone, which other clients show and never add silently.
   */
  identityKey: v.optional(PublicKeyB64),
  identityProof: v.optional(SignatureB64),
});
export type EnrollRequest = v.InferOutput<typeof EnrollRequest>;

/**
 * What each key the certificate will name signs at enrollment: proof that the enrolling
 * device holds both private keys, bound to this gateway, this code and the pair of keys. The
 * role line keeps one key's signature from standing in for the other's.
 */
export const enrollTranscript = (
  role: 'device' | 'mls',
  p: { domain: string; code: string; devicePublicKey: string; mlsSignatureKey: string },
): Uint8Array => utf8(`kontor-enroll-v2\n${role}\n${p.domain}\n${p.code}\n${p.devicePublicKey}\n${p.mlsSignatureKey}`);

/** What the identity key signs at enrollment: bound to the gateway, the code and the device's two keys. */
export const identityTranscript = (p: {
  domain: string;
  code: string;
  devicePublicKey: string;
  mlsSignatureKey: string;
  identityKey: string;
}): Uint8Array => utf8(`kontor-enroll-identity-v1\n${p.domain}\n${p.code}\n${p.devicePublicKey}\n${p.mlsSignatureKey}\n${p.identityKey}`);

// ---- WebSocket auth ---------------------------------------------------------------------
export const ChallengeFrame = v.object({ type: v.literal('challenge'), nonce: v.string(), domain: Domain });
export const AuthFrame = v.strictObject({ type: v.literal('auth'), certificate: Certificate, signature: SignatureB64 });
export const ReadyFrame = v.object({ type: v.literal('ready'), deviceId: Ident, address: DeviceAddress });

/** Domain-separated: a signature for one gateway and nonce is useless anywhere else. */
export const authChallenge = (domain: string, nonce: string, deviceId: string): Uint8Array =>
  utf8(`kontor-device-auth-v1\n${domain}\n${nonce}\n${deviceId}`);

// ---- RPC ----------------------------------------------------------------------------------
export const RpcRequest = v.strictObject({
  id: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER)),
  method: v.pipe(v.string(), v.maxLength(64)),
  params: v.optional(v.unknown()),
});

export const MessageKind = v.picklist(['commit', 'welcome', 'application']);
export type MessageKind = v.InferOutput<typeof MessageKind>;

const Epoch = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 48));
const Members = v.pipe(v.array(DeviceAddress), v.minLength(1), v.maxLength(LIMITS.membersPerConversation));

export const SendParams = v.strictObject({
  conversationId: Ident,
  /** the conversation's hub; defaults to the device's own gateway */
  hub: v.optional(Domain),
  messageId: Ident,
  kind: MessageKind,
  epoch: Epoch,
  payload: Opaque(LIMITS.messageBytes),
  /** commit: the member list after this commit */
  members: v.optional(Members),
  /** welcome: the new devices it is for */
  recipients: v.optional(Members),
});
export type SendParams = v.InferOutput<typeof SendParams>;

export const Methods = {
  'conversation.create': v.strictObject({ conversationId: Ident }),
  send: SendParams,
  'inbox.fetch': v.strictObject({
    after: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(LIMITS.fetchLimit))),
  }),
  'inbox.ack': v.strictObject({ ids: v.pipe(v.array(v.pipe(v.number(), v.integer(), v.minValue(0))), v.maxLength(LIMITS.fetchLimit)) }),
  'keyPackages.upload': v.strictObject({
    keyPackages: v.pipe(v.array(Opaque(LIMITS.keyPackageBytes)), v.maxLength(LIMITS.keyPackagesPerUpload)),
    lastResort: v.optional(Opaque(LIMITS.keyPackageBytes)),
  }),
  'keyPackages.count': v.optional(v.strictObject({})),
  'keyPackages.claim': v.strictObject({ domain: Domain, contact: v.optional(Ident), employee: v.optional(Ident) }),
  'directory.contacts': v.optional(v.strictObject({})),
  'directory.devices': v.optional(v.strictObject({ employee: v.optional(Ident) })),
  /** a device holding the employee identity revokes a sibling: the statement its identity key signed */
  'devices.revoke': v.strictObject({ statement: DeviceRevocation }),
  /** which of these devices of `domain` are revoked: signed statements (issue 15) */
  'revocations.check': v.strictObject({
    domain: Domain,
    devices: v.pipe(v.array(Ident), v.minLength(1), v.maxLength(LIMITS.revocationQuery)),
  }),
  // linking a new browser (wire/link.ts): A's side of the mailbox, then the certificate for B
  'link.join': v.strictObject({ locator: Locator }),
  'link.send': LinkPostRequest,
  'link.read': LinkReadRequest,
  'device.link': v.strictObject({
    sessionId: SessionId,
    devicePublicKey: PublicKeyB64,
    mlsSignatureKey: PublicKeyB64,
    proof: SignatureB64,
    mlsProof: SignatureB64,
  }),
} as const;
export type MethodName = keyof typeof Methods;
export type MethodParams<M extends MethodName> = v.InferOutput<(typeof Methods)[M]>;

export interface ClaimedKeyPackage {
  certificate: Certificate;
  keyPackage: string;
  lastResort: boolean;
}
export interface ContactInfo {
  id: string;
  name: string;
  members: string[];
}

export interface InboxEntry {
  /** local inbox id, used for ack and fetch-after */
  id: number;
  kind: MessageKind | 'receipt';
  conversationId: string;
  hub: string;
  seq: number;
  messageId: string;
  epoch: number;
  /** deviceId@domain of the original sender */
  sender: string;
  /** base64 ciphertext; for receipts absent */
  payload?: string;
  /**
   * receipts: 'partner' = partner gateway `by` stored them; 'delivered' = device `by` acknowledged them.
   * One receipt covers several of the sender's messages in the conversation (messageIds);
   * the entry's seq/messageId are those of the latest.
   */
  receipt?: { status: 'partner' | 'delivered'; by: string; messageIds: string[] };
  receivedAt: number;
}

export interface MethodResults {
  'conversation.create': { hub: string; created: boolean };
  send: { seq: number; hub: string; duplicate: boolean };
  'inbox.fetch': { entries: InboxEntry[] };
  'inbox.ack': { acked: number };
  'keyPackages.upload': { stored: number };
  'keyPackages.count': { available: number; lastResort: boolean };
  'keyPackages.claim': { devices: ClaimedKeyPackage[] };
  'directory.contacts': { contacts: ContactInfo[] };
  'directory.devices': { devices: Certificate[] };
  'revocations.check': { revocations: DeviceRevocation[] };
  'devices.revoke': { revoked: string };
  'link.join': { sessionId: string; commitment: string; expiresAt: number };
  'link.send': { index: number };
  'link.read': LinkReadResult;
  'device.link': { certificate: Certificate };
}

export type PushEvent = { event: 'inbox'; entry: InboxEntry } | { event: 'revoked' };

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
/**
 * An inbox entry as a gateway pushes or returns it, checked by the client before the extension
 * acts on it: the own gateway is not trusted to send well-formed data (THREATS.md). Its fields
 * carry what SendParams and the federation's items (wire/federation.ts) let in.
 */
export const InboxEntrySchema = v.object({
  id: Count,
  kind: v.picklist([...MessageKind.options, 'receipt']),
  conversationId: Ident,
  hub: Domain,
  seq: Count,
  messageId: Ident,
  epoch: Epoch,
  sender: DeviceAddress,
  payload: v.optional(SendParams.entries.payload),
  receipt: v.optional(
    v.object({
      status: v.picklist(['partner', 'delivered']),
      by: v.pipe(v.string(), v.maxLength(320)),
      messageIds: v.pipe(v.array(Ident), v.maxLength(1000)),
    }),
  ),
  receivedAt: v.number(),
});
export const PushEventSchema = v.variant('event', [
  v.object({ event: v.literal('inbox'), entry: InboxEntrySchema }),
  v.object({ event: v.literal('revoked') }),
]);
// the schema and the interface describe the same entry
const sameEntry: [v.InferOutput<typeof InboxEntrySchema>] extends [InboxEntry] ? true : never = true;
void sameEntry;

// ---- federation (gateway <-> gateway) ---------------------------------------------------
export const FED_HEADER = {
  from: 'kontor-from',
  timestamp: 'kontor-timestamp',
  nonce: 'kontor-nonce',
  digest: 'kontor-digest',
  signature: 'kontor-signature',
} as const;

/** Bytes signed by the sending org key for each federation request. */
export const federationSigningString = (p: {
  method: string;
  path: string;
  from: string;
  to: string;
  timestamp: string;
  nonce: string;
  digest: string;
}): Uint8Array =>
  utf8(`kontor-federation-v1\n${p.method.toUpperCase()}\n${p.path}\n${p.from}\n${p.to}\n${p.timestamp}\n${p.nonce}\n${p.digest}`);
