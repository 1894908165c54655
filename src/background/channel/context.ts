/**
 * Shared internals of the conversation engine: loading and persisting sealed group state,
 * message records and views. Not exported from index.ts.
 */
import type { ClientState } from 'ts-mls';
import type { Certificate } from '../../wire/certificate';
import { fromBase64, toBase64 } from '../../wire/bytes';
import type { ChannelDb, ConversationRecord, MessageRecord, Sealed } from './db';
import type { Keystore } from './keystore';
import type { Transport } from './transport';
import type { KeyedMutex } from './lock';
import type { Identity } from './identity';
import { CredentialError, checkCredential, kontorAuthService, readChain, readCredential, type OrgKeyLookup } from './credentials';
import { clientConfig, deserializeState, members, ownLeafIndex, serializeState } from './mls';
import type { Payload } from './payload';

export interface Person {
  deviceId: string;
  employeeId: string;
  displayName: string;
  orgDomain: string;
  address: string;
  /** the device of the same employee that linked this one in (its endorsement's linkedBy) */
  linkedBy?: string | null;
}

/**
 * 'held': a device membership sync did not add (admission.ts); 'added_unlinked': another
 * member's client added a device this one would have held. The detail of both is the HoldReason.
 */
export type ChannelEventKind = 'joined' | 'added' | 'removed' | 'removed_self' | 'warning' | 'held' | 'added_unlinked';

/** What a message record holds once opened. */
export interface MessageBody {
  sender: Person;
  payload?: Payload;
  event?: { kind: ChannelEventKind; who: Person[]; detail?: string };
  /** sent over the link by the browser that linked this one (link-history.ts), not received here */
  transferred?: true;
}

export interface MessageView extends MessageBody {
  conversationId: string;
  id: string;
  at: number;
  direction: MessageRecord['direction'];
  state: MessageRecord['state'];
  seq: number | null;
}

export type ChannelEvent =
  | { type: 'message'; conversationId: string; message: MessageView }
  | { type: 'conversation'; conversationId: string }
  | { type: 'delivery'; conversationId: string; messageId: string; state: NonNullable<MessageRecord['state']> }
  | { type: 'warning'; conversationId: string; error: Error };

export interface EngineContext {
  db: ChannelDb;
  ks: Keystore;
  transport: Transport;
  orgKeyFor: OrgKeyLookup;
  now: () => Date;
  identity: Identity & { certificate: Certificate };
  self: Person;
  lock: KeyedMutex;
  cache: Map<string, ClientState>;
  /**
   * The conversation records this engine last wrote or read. A hint only, never trusted on
   * its own: a write that relies on one checks, in its own transaction, that the stored record
   * is still exactly this (outbox.ts), and drops the hint otherwise. What a conversation never
   * changes, its hub, is taken from it as it is (a receipt's check, inbox.ts; a message shown
   * before its reads, speculation.ts).
   */
  records: Map<string, ConversationRecord>;
  /** conversations where a verified revocation named a device still in the group (inbox.ts) */
  revokedPending: Set<string>;
  emit(e: ChannelEvent): void;
}

export const stateAad = (id: string) => `conversation:${id}:state`;
export const pendingAad = (id: string) => `conversation:${id}:pending`;
export const messageAad = (conv: string, id: string) => `message:${conv}:${id}`;
export const outboxAad = (conv: string, id: string) => `outbox:${conv}:${id}`;

export function personOf(cert: Certificate): Person {
  return {
    deviceId: cert.deviceId,
    employeeId: cert.employeeId,
    displayName: cert.displayName,
    orgDomain: cert.orgDomain,
    address: `${cert.deviceId}@${cert.orgDomain}`,
  };
}

/** A ClientConfig whose authentication service is Kontor's, collecting typed failures. */
export function authConfig(ctx: EngineContext) {
  const auth = kontorAuthService({ orgKeyFor: ctx.orgKeyFor, now: ctx.now });
  return { config: clientConfig(auth.service), failures: auth.failures };
}

/** Rethrows the typed credential failure behind a ts-mls validation error, if there was one. */
export function explain(e: unknown, failures: CredentialError[]): unknown {
  return failures.length ? failures[failures.length - 1] : e;
}

export async function loadConversation(
  ctx: EngineContext,
  id: string,
  /** the record, when the caller just read it under the same lock */
  known?: ConversationRecord,
): Promise<{ rec: ConversationRecord; state: ClientState; failures: CredentialError[] } | null> {
  const rec = known ?? (await ctx.db.get('conversations', id));
  if (!rec) return null;
  const { config, failures } = authConfig(ctx);
  const cached = ctx.cache.get(id);
  if (cached) return { rec, state: { ...cached, clientConfig: config }, failures };
  const state = deserializeState(await ctx.ks.open(rec.state, stateAad(id)), config);
  // the entry stays the same object while the state does not move: a decryption or encryption
  // started from it checks that it still is (speculation.ts, outbox.ts)
  ctx.cache.set(id, state);
  return { rec, state, failures };
}

export async function sealState(ctx: EngineContext, id: string, state: ClientState): Promise<Sealed> {
  return ctx.ks.seal(serializeState(state), stateAad(id));
}

type MemberPerson = Person & { leafIndex: number; self: boolean };
/**
 * Members read from a ratchet tree, per tree: an application message or a receipt leaves the
 * tree as it was (ts-mls builds a new one only for a commit), so its members are read once per
 * epoch, not once per message.
 */
const peopleOfTree = new WeakMap<object, { own: number; people: readonly MemberPerson[] }>();

export function memberPeople(state: ClientState): readonly MemberPerson[] {
  const own = ownLeafIndex(state);
  const known = peopleOfTree.get(state.ratchetTree);
  if (known?.own === own) return known.people;
  const people = Object.freeze(
    members(state).map((m) => {
      const { certificate, chain } = readChain(m.leaf.credential);
      return { ...personOf(certificate), linkedBy: chain?.endorsement.linkedBy ?? null, leafIndex: m.leafIndex, self: m.leafIndex === own };
    }),
  );
  peopleOfTree.set(state.ratchetTree, { own, people });
  return people;
}

export type Verification = { state: 'verified' } | { state: 'unverified'; code: CredentialError['code']; message: string };

/** Re-checks every member against the currently pinned org keys (a key change shows up here). */
export async function verifyMembers(ctx: EngineContext, state: ClientState) {
  return Promise.all(
    members(state).map(async (m) => {
      let verification: Verification = { state: 'verified' };
      try {
        await checkCredential(m.leaf.credential, m.leaf.signaturePublicKey, { orgKeyFor: ctx.orgKeyFor, now: ctx.now });
      } catch (e) {
        if (!(e instanceof CredentialError)) throw e;
        verification = { state: 'unverified', code: e.code, message: e.message };
      }
      return {
        ...personOf(readCredential(m.leaf.credential)),
        leafIndex: m.leafIndex,
        self: m.leafIndex === ownLeafIndex(state),
        verification,
      };
    }),
  );
}

export async function sealBody(ctx: EngineContext, conv: string, id: string, body: MessageBody): Promise<Sealed> {
  return ctx.ks.sealJson(body, messageAad(conv, id));
}

export async function openMessage(ctx: EngineContext, r: MessageRecord): Promise<MessageView> {
  const body = (await ctx.ks.openJson(r.body, messageAad(r.conversationId, r.id))) as MessageBody;
  return { ...body, conversationId: r.conversationId, id: r.id, at: r.at, direction: r.direction, state: r.state, seq: r.seq };
}

/** The epoch the hub expects the conversation's next commit at (see ConversationRecord.hubEpoch). */
export const hubEpochOf = (rec: ConversationRecord): number => Math.max(rec.hubEpoch ?? 0, rec.epoch);

/** Whether the device can still follow the group (false: a member must re-add it). */
export const outOfSync = (rec: ConversationRecord): boolean => rec.status === 'out_of_sync' || rec.status === 'broken';

export const b64 = toBase64;
export const unb64 = fromBase64;

/** Deep equality of two records as IndexedDB stores them (plain objects, arrays, bytes). */
export function sameRecord(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameRecord((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
