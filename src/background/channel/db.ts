/**
 * The channel's IndexedDB schema. The IndexedDB version is the schema version; MIGRATIONS[i]
 * upgrades version i to i+1, so a new version appends a step and never edits an old one.
 * Every secret value in these stores is a Sealed blob (see keystore.ts); what stays in clear
 * is what indexing needs: ids, epochs, timestamps, delivery states.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { Certificate } from '../../wire/certificate';
import type { CredentialChain } from '../../wire/identity';

export interface Sealed {
  iv: Uint8Array;
  ct: Uint8Array;
}

export interface IdentityRecord {
  /** gateway auth key: a WebCrypto key pair whose private half is not extractable */
  deviceKey: { privateKey: CryptoKey; publicKey: CryptoKey; publicKeyB64: string };
  /** MLS signature key pair (ts-mls needs raw bytes), packed and sealed */
  mlsSignature: Sealed;
  mlsSignaturePublicB64: string;
  certificate: Certificate | null;
  createdAt: number;
  /**
   * The employee identity key (issue 15), raw Ed25519 packed and sealed: created with the
   * device, certified by the org at enrollment if the employee had none. Missing on devices
   * created before identities; they stay certified by the org alone.
   */
  employeeKey?: Sealed;
  employeeKeyPublicB64?: string;
  /** org → identity → this device, once enrolled with a certified identity */
  chain?: CredentialChain | null;
}

export interface KeyPackageRecord {
  ref: string;
  secret: Sealed;
  lastResort: boolean;
  createdAt: number;
}

/**
 * 'out_of_sync': this device missed or could not take in a step of the group (a message for a
 * later epoch arrived): it sends and commits nothing until a member re-adds it, and a Welcome
 * for the same conversation from its hub replaces the state. 'broken' is what older versions
 * stored for the same situation; it is treated the same way.
 */
export type ConversationStatus = 'active' | 'removed' | 'out_of_sync' | 'broken';

export interface ConversationRecord {
  id: string;
  hub: string;
  epoch: number;
  /** serialized ts-mls GroupState, sealed */
  state: Sealed;
  /** a commit (and its welcome) composed but not yet accepted by the hub, sealed */
  pending: Sealed | null;
  status: ConversationStatus;
  /**
   * The hub's commit counter as this device last learned it. It runs ahead of `epoch` when
   * the hub accepted a commit that no member could take in (dropped as invalid): commits are
   * submitted at this count, or the hub would refuse them forever. Absent: equal to `epoch`.
   */
  hubEpoch?: number;
  /** last credential or processing problem, for the UI to warn about */
  warning: { code: string; message: string; at: number } | null;
  createdAt: number;
  lastActivity: number;
  unread: number;
  /**
   * Employee identity keys this conversation has seen, by `employeeId@orgDomain` (issue 15):
   * a device of a known employee joins on its own only if it chains to the same identity.
   * Absent on older records: then the current members are all that is known.
   */
  identities?: Record<string, string>;
  /** devices that membership sync found but did not add (admission.ts), sealed; absent: none */
  held?: Sealed;
  /** addresses of devices a verified revocation statement named: never added again */
  revoked?: string[];
}

export interface OutboxRecord {
  seq?: number;
  conversationId: string;
  messageId: string;
  /** the encoded payload, sealed: kept until sent so it can be (re-)encrypted */
  payload: Sealed;
  /** MLS ciphertext once encrypted (written together with the advanced group state) */
  ciphertext: Uint8Array | null;
  epoch: number | null;
  createdAt: number;
  /**
   * The order the messages were written in (ChannelEngine's `queue`, strictly increasing):
   * the queue is sent in this order. Absent on records from before it: those go first, by seq.
   */
  order?: number;
}

export type DeliveryState = 'queued' | 'sent' | 'partner' | 'delivered';

export interface MessageRecord {
  conversationId: string;
  id: string;
  /** local ordering time (ms) */
  at: number;
  direction: 'in' | 'out' | 'event';
  /** sealed JSON: StoredMessageBody */
  body: Sealed;
  state: DeliveryState | null;
  /** hub sequence number once known */
  seq: number | null;
  /** an own message's place in the order messages were written (OutboxRecord.order) */
  order?: number;
}

export interface SeenRecord {
  conversationId: string;
  messageId: string;
  at: number;
}

export interface ChannelSchema extends DBSchema {
  keys: { key: string; value: CryptoKey };
  identity: { key: string; value: IdentityRecord };
  keyPackages: { key: string; value: KeyPackageRecord };
  conversations: { key: string; value: ConversationRecord };
  outbox: { key: number; value: OutboxRecord; indexes: { byConversation: string } };
  messages: { key: [string, string]; value: MessageRecord; indexes: { byConversation: [string, number] } };
  seen: { key: [string, string]; value: SeenRecord };
}

export type ChannelDb = IDBPDatabase<ChannelSchema>;
type UpgradeTx = IDBPTransaction<ChannelSchema, StoreNames<ChannelSchema>[], 'versionchange'>;

/** Ordered schema steps. Append only. */
export const MIGRATIONS: ((db: ChannelDb, tx: UpgradeTx) => void)[] = [
  (db) => {
    db.createObjectStore('keys');
    db.createObjectStore('identity');
    db.createObjectStore('keyPackages', { keyPath: 'ref' });
    db.createObjectStore('conversations', { keyPath: 'id' });
    db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true }).createIndex('byConversation', 'conversationId');
    db.createObjectStore('messages', { keyPath: ['conversationId', 'id'] }).createIndex('byConversation', ['conversationId', 'at']);
    db.createObjectStore('seen', { keyPath: ['conversationId', 'messageId'] });
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;
export const DEFAULT_DB_NAME = 'kontor-channel';

export function openChannelDb(name = DEFAULT_DB_NAME): Promise<ChannelDb> {
  return openDB<ChannelSchema>(name, SCHEMA_VERSION, {
    upgrade(db, oldVersion, _newVersion, tx) {
      for (let v = oldVersion; v < SCHEMA_VERSION; v++) MIGRATIONS[v]!(db, tx);
    },
  });
}
