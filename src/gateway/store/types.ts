/**
 * The gateway's storage interface. SQLite implements it today (store/sqlite.ts); a server
 * database can replace it. Writes resolve only once durable: callers acknowledge after that.
 */
import type { Certificate } from '../../wire/certificate';
import type { IdentityCertificate } from '../../wire/identity';
import type { LinkReadResult } from '../../wire/link';
import type { InboxEntry, MessageKind } from '../../wire/protocol';

/**
 * What an acknowledgement returns: how many entries it deleted, and the acknowledged messages
 * (receipts themselves excluded) grouped by sender and conversation, one group per receipt to
 * send. The store groups them in the same transaction as the delete, so a batch of 200
 * acknowledged messages crosses to the main thread as one group instead of 200 rows.
 */
export interface AckResult {
  acked: number;
  delivered: AckedGroup[];
}
/** seq and messageId: the group's newest message; messageIds: all of them, oldest first */
export type AckedGroup = Pick<ReceiptItem, 'conversationId' | 'hub' | 'seq' | 'messageId' | 'sender' | 'messageIds'>;

/** An inbox entry with the local device it belongs to (for live push). */
export interface RoutedEntry {
  deviceId: string;
  entry: InboxEntry;
}

/** `code` is the SHA-256 of the code (schema.hashEnrollCode): the store never holds a code itself */
export interface EnrollCode {
  code: string;
  employeeId: string;
  displayName: string;
  expiresAt: number;
}
export type EnrollOutcome = 'ok' | 'invalid_code' | 'key_enrolled' | 'identity_exists';
/** An employee's identity certificate (issue 15): the org certified the key the employee's devices hold. */
export interface IdentityRecord {
  employeeId: string;
  identityKey: string;
  certificate: IdentityCertificate;
  createdAt: number;
}
export interface DeviceRecord {
  deviceId: string;
  employeeId: string;
  displayName: string;
  devicePublicKey: string;
  mlsSignatureKey: string;
  certificate: Certificate;
  createdAt: number;
  revokedAt: number | null;
}
export interface Contact {
  id: string;
  name: string;
  members: string[];
}
export type PartnerStatus = 'admitted' | 'pending';
export interface Partner {
  domain: string;
  status: PartnerStatus;
  fingerprint: string | null;
  createdAt: number;
}
export interface Conversation {
  id: string;
  epoch: number;
  members: string[];
  createdBy: string;
}

/** A message submitted to this gateway acting as the conversation's hub. */
export interface HubSubmission {
  conversationId: string;
  messageId: string;
  sender: string;
  kind: MessageKind;
  epoch: number;
  payload: string;
  members?: string[];
  recipients?: string[];
}
/** What the hub decided; the store also wrote local inbox rows and outbox rows. */
export type HubResult =
  | { ok: true; seq: number; duplicate: boolean; local: RoutedEntry[]; remotePeers: string[] }
  | { ok: false; code: 'not_found' | 'forbidden' | 'epoch_conflict' | 'conflict' | 'bad_request'; message: string; currentEpoch?: number };

/** A ciphertext another gateway's hub routed to devices of this gateway. */
/** A federation request's nonce (see useNonce). */
export interface NonceUse {
  key: string;
  expiresAt: number;
}

export interface Delivery {
  conversationId: string;
  hub: string;
  seq: number;
  messageId: string;
  kind: MessageKind;
  epoch: number;
  sender: string;
  payload: string;
  recipients: string[];
}
export interface ReceiptItem {
  conversationId: string;
  hub: string;
  seq: number;
  messageId: string;
  /** the original sender's device address: the receipt goes to that device */
  sender: string;
  status: 'partner' | 'delivered';
  by: string;
  /** the sender's messages this receipt covers (same conversation) */
  messageIds: string[];
}
export type OutboxItem = ({ type: 'deliver' } & Delivery) | ({ type: 'receipt' } & ReceiptItem);
export interface OutboxRow {
  id: number;
  peer: string;
  item: OutboxItem;
}

/** A link session as B opens it (issue 15; link.ts): filed under the code's locator until A joins. */
export interface LinkSessionOpen {
  sessionId: string;
  locator: string;
  commitment: string;
  expiresAt: number;
}
/**
 * Who acts on a link session: A names the device that joined (only it may), B names no one
 * (whoever holds the 128-bit session id).
 */
export type LinkSide = { deviceId: string } | { deviceId: null };
export type LinkJoinResult = { ok: true; sessionId: string; commitment: string; expiresAt: number } | { ok: false };
/** not_found: no live session for this side; full: it carried all it may; not_yet: B may not post (now) */
export type LinkPostResult = { ok: true; index: number } | { ok: false; code: 'not_found' | 'full' | 'not_yet' };

export interface Store {
  // enrollment and devices
  createEnrollCode(c: EnrollCode): Promise<void>;
  /** the unused, unexpired code with this hash, without using it up */
  getEnrollCode(codeHash: string, now: number): Promise<EnrollCode | null>;
  /**
   * In one transaction: uses up the code and adds the device, unless the code is no longer
   * valid or either of the device's keys is already on a device (then nothing changes). With
   * `identity`, also records the employee's identity, unless another identity key is already
   * recorded ('identity_exists'; the same key again is fine).
   */
  enrollDevice(codeHash: string, d: DeviceRecord, now: number, identity?: IdentityRecord): Promise<EnrollOutcome>;
  /** the employee's identity certificate, if one was certified */
  getIdentity(employeeId: string): Promise<IdentityRecord | null>;
  /**
   * Forgets the employee's identity (an identity reset, issue 15): the next enrollment may
   * certify a new identity key. False if none was recorded.
   */
  removeIdentity(employeeId: string): Promise<boolean>;
  addDevice(d: DeviceRecord): Promise<void>;
  getDevice(deviceId: string): Promise<DeviceRecord | null>;
  listDevices(opts?: { employeeId?: string; includeRevoked?: boolean }): Promise<DeviceRecord[]>;
  revokeDevice(deviceId: string, now: number): Promise<boolean>;
  /** the newest revocation's sequence number (0 if none) */
  revocationSeq(): Promise<number>;
  /** revocations with a sequence number above `after`, oldest first */
  revocationsAfter(after: number): Promise<{ seq: number; deviceId: string }[]>;

  // contacts and partners
  upsertContact(id: string, name: string): Promise<void>;
  setContactMembers(id: string, add: string[], remove: string[]): Promise<void>;
  removeContact(id: string): Promise<boolean>;
  listContacts(): Promise<Contact[]>;
  getContact(id: string): Promise<Contact | null>;
  setPartner(domain: string, status: PartnerStatus, fingerprint: string | null): Promise<void>;
  getPartner(domain: string): Promise<Partner | null>;
  listPartners(): Promise<Partner[]>;
  removePartner(domain: string): Promise<boolean>;

  // key packages
  addKeyPackages(deviceId: string, packages: string[], lastResort?: string): Promise<number>;
  countKeyPackages(deviceId: string): Promise<{ available: number; lastResort: boolean }>;
  /**
   * one per active device, deleting one-time packages; falls back to the last-resort one.
   * Devices in `lastResortOnly` (their claim budget is spent) get only their last-resort package.
   */
  claimKeyPackages(
    deviceIds: string[],
    lastResortOnly?: string[],
  ): Promise<{ deviceId: string; keyPackage: string; lastResort: boolean }[]>;

  // delivery
  createConversation(id: string, creator: string, now: number): Promise<boolean>;
  getConversation(id: string): Promise<Conversation | null>;
  submitToHub(s: HubSubmission, hubDomain: string, now: number): Promise<HubResult>;
  /**
   * Stores a partner hub's deliveries. Nothing for a conversation hosted here; a Welcome makes
   * its recipients members of the hub's conversation, anything else reaches members only.
   */
  storeDeliveries(items: Delivery[], now: number): Promise<RoutedEntry[]>;
  /** a local device takes part in a conversation hosted by another gateway (see storeDeliveries) */
  addRemoteMember(conversationId: string, hub: string, deviceId: string): Promise<void>;
  isRemoteMember(conversationId: string, hub: string, deviceId: string): Promise<boolean>;
  storeReceipts(items: ReceiptItem[], now: number): Promise<RoutedEntry[]>;
  fetchInbox(deviceId: string, after: number, limit: number): Promise<InboxEntry[]>;
  /** deletes acknowledged entries and returns what their receipts need */
  ackInbox(deviceId: string, ids: number[]): Promise<AckResult>;
  enqueueOutbox(items: { peer: string; item: OutboxItem }[]): Promise<void>;
  /** the oldest rows for a peer, optionally only those after a row id already sent */
  peekOutbox(peer: string, limit: number, afterId?: number): Promise<OutboxRow[]>;
  deleteOutbox(ids: number[]): Promise<void>;
  outboxPeers(): Promise<string[]>;
  /** drops inbox entries older than the retention limit; returns how many */
  expireInbox(olderThan: number): Promise<number>;
  /**
   * Forgets log rows older than `olderThan` (what answers a retry), keeping each conversation's
   * newest row (it numbers the next message). One page of conversations per call, starting
   * after `afterConv`; returns the rows deleted and where to go on (null when done).
   */
  pruneLog(olderThan: number, afterConv: string): Promise<{ deleted: number; next: string | null }>;

  /**
   * Records a federation nonce until `expiresAt` (durably, before resolving); false if it was
   * recorded before. Expired nonces are dropped on the way.
   */
  useNonce(key: string, expiresAt: number, now: number): Promise<boolean>;
  /**
   * A partner's request in one durable write with its nonce: null, and nothing stored, if the
   * nonce was recorded before; otherwise what storeDeliveries and then storeReceipts store.
   * One commit instead of two on the path of every federated message.
   */
  storeFromPeer(nonce: NonceUse, deliveries: Delivery[], receipts: ReceiptItem[], now: number): Promise<RoutedEntry[] | null>;

  // link sessions (issue 15): every instance sees the same ones. Each decision (single use,
  // message caps, one certificate) is made in one transaction, so instances cannot race past it.
  /**
   * 'conflict' if a live session is filed under this locator (an expired one is replaced),
   * 'full' if `maxLive` sessions are live already
   */
  openLinkSession(s: LinkSessionOpen, now: number, maxLive: number): Promise<'ok' | 'conflict' | 'full'>;
  /** joins the live, unjoined session filed under `locator`, which then leads nowhere else */
  joinLinkSession(locator: string, deviceId: string, now: number): Promise<LinkJoinResult>;
  /**
   * Adds a message from `side` (LINK.messagesPerSession in all; B only after a device joined,
   * and at most LINK.postsByB times); its index is the number of messages before it.
   */
  postLinkMessage(sessionId: string, side: LinkSide, body: string, now: number): Promise<LinkPostResult>;
  /** the other side's messages after `after`, oldest first; null if this side has no live session */
  readLinkMessages(sessionId: string, side: LinkSide, after: number, now: number): Promise<LinkReadResult | null>;
  /** marks the session A joined as certified, once: 'conflict' if it already was */
  certifyLinkSession(sessionId: string, deviceId: string, now: number): Promise<'ok' | 'not_found' | 'conflict'>;
  /** forgets sessions (and their messages) expired by `now`; returns how many */
  pruneLinkSessions(now: number): Promise<number>;

  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  close(): void;
}
