/**
 * Thin wrapper over ts-mls 1.6.4 (pinned), ciphersuite 1
 * (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519). Everything crosses this boundary as bytes,
 * so callers never touch ts-mls types. ts-mls is immutable: every operation returns a new
 * state and leaves the input untouched, which is what lets the engine persist before sending.
 */
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeGroupState,
  decodeMlsMessage,
  defaultCapabilities,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetime,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  emptyPskIndex,
  encodeGroupState,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  processMessage,
  type CiphersuiteImpl,
  type ClientConfig,
  type ClientState,
  type KeyPackage,
  type LeafNode,
  type PrivateKeyPackage,
  type Proposal,
  type AuthenticationService,
  type Credential,
} from 'ts-mls';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { unprotectPrivateMessage } from 'ts-mls/messageProtection.js';
import { toBase64 } from '../../wire/bytes';

export const CIPHERSUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519' as const;

export class MlsOpError extends Error {
  override name = 'MlsOpError';
  constructor(
    readonly code:
      | 'decode'
      | 'not_member'
      | 'stale_epoch'
      | 'future_epoch'
      | 'wrong_group'
      | 'no_key_package'
      | 'wrong_hub'
      | 'out_of_sync',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

let suitePromise: Promise<CiphersuiteImpl> | undefined;
export function suite(): Promise<CiphersuiteImpl> {
  suitePromise ??= getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE));
  return suitePromise;
}

export interface SignatureKeyPair {
  publicKey: Uint8Array;
  signKey: Uint8Array;
}

/** The device's MLS signature key: raw bytes because ts-mls signs with bytes (kept sealed at rest). */
export async function generateSignatureKeyPair(): Promise<SignatureKeyPair> {
  return (await suite()).signature.keygen();
}

/**
 * Plain Ed25519 with the MLS signature key, base64: enrollment's proof that this device holds
 * the key its certificate will name (wire/protocol enrollTranscript). Not an MLS SignWithLabel.
 */
export async function signWithSignatureKey(signKey: Uint8Array, data: Uint8Array): Promise<string> {
  return toBase64(await (await suite()).signature.sign(signKey, data));
}

export function clientConfig(authService: AuthenticationService): ClientConfig {
  return {
    keyRetentionConfig: defaultKeyRetentionConfig,
    lifetimeConfig: defaultLifetimeConfig,
    keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
    paddingConfig: defaultPaddingConfig,
    authService,
  };
}

export interface GeneratedKeyPackage {
  /** MLSMessage(key_package) bytes: what the gateway stores and partners claim */
  message: Uint8Array;
  /** KeyPackageRef: how a Welcome names the key package it is for */
  ref: Uint8Array;
  /** packed public + private parts, to be sealed at rest until the Welcome arrives */
  secret: Uint8Array;
}

/** A key package with `credential` (credentials.ts: the chain, or a bare certificate). */
export async function generateKeyPackage(credential: Credential, sig: SignatureKeyPair): Promise<GeneratedKeyPackage> {
  const cs = await suite();
  const kp = await generateKeyPackageWithKey(credential, defaultCapabilities(), defaultLifetime, [], sig, cs);
  const message = encodeMlsMessage({ keyPackage: kp.publicPackage, wireformat: 'mls_key_package', version: 'mls10' });
  const ref = await makeKeyPackageRef(kp.publicPackage, cs.hash);
  const p = kp.privatePackage;
  return { message, ref, secret: pack([message, p.initPrivateKey, p.hpkePrivateKey, p.signaturePrivateKey]) };
}

function unpackKeyPackage(secret: Uint8Array): { publicPackage: KeyPackage; privatePackage: PrivateKeyPackage } {
  const [message, initPrivateKey, hpkePrivateKey, signaturePrivateKey] = unpack(secret, 4);
  return {
    publicPackage: decodeKeyPackage(message!),
    privatePackage: { initPrivateKey: initPrivateKey!, hpkePrivateKey: hpkePrivateKey!, signaturePrivateKey: signaturePrivateKey! },
  };
}

export function decodeKeyPackage(bytes: Uint8Array): KeyPackage {
  const m = safeDecode(bytes);
  if (m.wireformat !== 'mls_key_package') throw new MlsOpError('decode', 'not a key package');
  return m.keyPackage;
}

function safeDecode(bytes: Uint8Array) {
  let m;
  try {
    m = decodeMlsMessage(bytes, 0)?.[0];
  } catch (e) {
    throw new MlsOpError('decode', 'undecodable MLS message', { cause: e });
  }
  if (!m) throw new MlsOpError('decode', 'undecodable MLS message');
  return m;
}

/** A one-member group (epoch 0) owned by this device, from a fresh key package of its own. */
export async function createGroupState(groupId: Uint8Array, own: GeneratedKeyPackage, config: ClientConfig): Promise<ClientState> {
  const { publicPackage, privatePackage } = unpackKeyPackage(own.secret);
  return createGroup(groupId, publicPackage, privatePackage, [], await suite(), config);
}

export interface CommitOutput {
  newState: ClientState;
  commit: Uint8Array;
  welcome?: Uint8Array;
}

/** Add and/or remove members in one commit. The Welcome carries the ratchet tree. */
export async function commit(state: ClientState, change: { add?: KeyPackage[]; removeLeaves?: number[] }): Promise<CommitOutput> {
  const proposals: Proposal[] = [
    ...(change.removeLeaves ?? []).map((removed): Proposal => ({ proposalType: 'remove', remove: { removed } })),
    ...(change.add ?? []).map((keyPackage): Proposal => ({ proposalType: 'add', add: { keyPackage } })),
  ];
  const r = await createCommit({ state, cipherSuite: await suite() }, { extraProposals: proposals, ratchetTreeExtension: true });
  return {
    newState: r.newState,
    commit: encodeMlsMessage(r.commit),
    welcome: r.welcome ? encodeMlsMessage({ welcome: r.welcome, wireformat: 'mls_welcome', version: 'mls10' }) : undefined,
  };
}

/** The KeyPackageRefs a Welcome has secrets for. */
export function welcomeRefs(welcomeBytes: Uint8Array): Uint8Array[] {
  const m = safeDecode(welcomeBytes);
  if (m.wireformat !== 'mls_welcome') throw new MlsOpError('decode', 'not a welcome');
  return m.welcome.secrets.map((s) => s.newMember);
}

export async function joinFromWelcome(
  welcomeBytes: Uint8Array,
  ownKeyPackageSecret: Uint8Array,
  config: ClientConfig,
): Promise<ClientState> {
  const m = safeDecode(welcomeBytes);
  if (m.wireformat !== 'mls_welcome') throw new MlsOpError('decode', 'not a welcome');
  const { publicPackage, privatePackage } = unpackKeyPackage(ownKeyPackageSecret);
  return joinGroup(m.welcome, publicPackage, privatePackage, emptyPskIndex, await suite(), undefined, undefined, config);
}

/** Whether a state belongs to the group Kontor names `conversationId` (group id = its UTF-8 bytes). */
export function isGroup(state: ClientState, conversationId: string): boolean {
  const want = new TextEncoder().encode(conversationId);
  const have = state.groupContext.groupId;
  return have.length === want.length && have.every((b, i) => b === want[i]);
}

export async function encryptApplication(
  state: ClientState,
  plaintext: Uint8Array,
): Promise<{ newState: ClientState; message: Uint8Array; generation: number }> {
  const r = await createApplicationMessage(state, plaintext, await suite());
  const message = encodeMlsMessage({ privateMessage: r.privateMessage, wireformat: 'mls_private_message', version: 'mls10' });
  return { newState: r.newState, message, generation: ownGeneration(r.newState) };
}

/** Next sending generation of this device's ratchet in the current epoch (for no-reuse checks). */
export function ownGeneration(state: ClientState): number {
  const leaf = state.privatePath.leafIndex;
  const node = state.secretTree[leaf * 2] as { application?: { generation?: number } } | undefined;
  return node?.application?.generation ?? -1;
}

export type Incoming =
  | { kind: 'application'; message: Uint8Array; sender: LeafNode; senderLeaf: number; epoch: bigint; newState: ClientState }
  | { kind: 'commit'; newState: ClientState; removedSelf: boolean; epoch: bigint }
  | { kind: 'proposal'; newState: ClientState; epoch: bigint };

/** Epoch and group id of a private/public message, read before decrypting (routing, staleness). */
export function messageHeader(bytes: Uint8Array): { epoch: bigint; groupId: Uint8Array; kind: 'private' | 'public' } {
  const m = safeDecode(bytes);
  if (m.wireformat === 'mls_private_message') return { epoch: m.privateMessage.epoch, groupId: m.privateMessage.groupId, kind: 'private' };
  if (m.wireformat === 'mls_public_message')
    return { epoch: m.publicMessage.content.epoch, groupId: m.publicMessage.content.groupId, kind: 'public' };
  throw new MlsOpError('decode', `unexpected ${m.wireformat}`);
}

/**
 * Processes a commit, proposal or application message. Application messages are opened here
 * (mirroring ts-mls's processPrivateMessage) because its result does not name the sender,
 * and the UI must show the authenticated sender, not the one the gateway claims.
 */
export async function processIncoming(state: ClientState, bytes: Uint8Array): Promise<Incoming> {
  const cs = await suite();
  const m = safeDecode(bytes);
  if (m.wireformat === 'mls_private_message') {
    const pm = m.privateMessage;
    const current = state.groupContext.epoch;
    const hist = pm.epoch < current ? state.historicalReceiverData.get(pm.epoch) : undefined;
    if (pm.epoch > current) throw new MlsOpError('future_epoch', `message for epoch ${pm.epoch}, group at ${current}`);
    if (pm.epoch < current && !hist) throw new MlsOpError('stale_epoch', `message for epoch ${pm.epoch} is too old`);
    const src = hist ?? {
      senderDataSecret: state.keySchedule.senderDataSecret,
      secretTree: state.secretTree,
      ratchetTree: state.ratchetTree,
      groupContext: state.groupContext,
    };
    const r = await unprotectPrivateMessage(
      src.senderDataSecret,
      pm,
      src.secretTree,
      src.ratchetTree,
      src.groupContext,
      state.clientConfig.keyRetentionConfig,
      cs,
    );
    const c = r.content.content;
    if (c.contentType === 'application') {
      if (c.sender.senderType !== 'member') throw new MlsOpError('not_member', 'application message from a non-member');
      const node = src.ratchetTree[c.sender.leafIndex * 2];
      if (node?.nodeType !== 'leaf') throw new MlsOpError('not_member', 'sender leaf is blank');
      const newState: ClientState = hist
        ? { ...state, historicalReceiverData: new Map(state.historicalReceiverData).set(pm.epoch, { ...hist, secretTree: r.tree }) }
        : { ...state, secretTree: r.tree };
      return {
        kind: 'application',
        message: c.applicationData,
        sender: node.leaf,
        senderLeaf: c.sender.leafIndex,
        epoch: pm.epoch,
        newState,
      };
    }
  }
  const epoch =
    m.wireformat === 'mls_private_message'
      ? m.privateMessage.epoch
      : m.wireformat === 'mls_public_message'
        ? m.publicMessage.content.epoch
        : -1n;
  if (m.wireformat !== 'mls_private_message' && m.wireformat !== 'mls_public_message')
    throw new MlsOpError('decode', `unexpected ${m.wireformat}`);
  const r = await processMessage(m, state, emptyPskIndex, (incoming) => (incoming.kind === 'commit' ? 'accept' : 'reject'), cs);
  if (r.kind === 'applicationMessage') throw new MlsOpError('decode', 'unexpected application message');
  // a commit that removes us leaves the epoch as it was (we cannot derive the next one)
  const removedSelf = r.newState.groupActiveState.kind === 'removedFromGroup' && state.groupActiveState.kind !== 'removedFromGroup';
  if (removedSelf || r.newState.groupContext.epoch !== state.groupContext.epoch)
    return { kind: 'commit', newState: r.newState, removedSelf, epoch };
  return { kind: 'proposal', newState: r.newState, epoch };
}

export interface Member {
  leafIndex: number;
  leaf: LeafNode;
}

export function members(state: ClientState): Member[] {
  const out: Member[] = [];
  state.ratchetTree.forEach((n, i) => {
    if (n?.nodeType === 'leaf') out.push({ leafIndex: i / 2, leaf: n.leaf });
  });
  return out;
}

export const ownLeafIndex = (state: ClientState): number => state.privatePath.leafIndex;
export const epochOf = (state: ClientState): number => Number(state.groupContext.epoch);

export function serializeState(state: ClientState): Uint8Array {
  return encodeGroupState(state);
}

export function deserializeState(bytes: Uint8Array, config: ClientConfig): ClientState {
  const d = decodeGroupState(bytes, 0);
  if (!d) throw new MlsOpError('decode', 'undecodable group state');
  return { ...d[0], clientConfig: config };
}

/**
 * Safety fingerprint: 12 groups of 5 digits from SHA-256 over the epoch authenticator
 * (RFC 9420 section 8.7), which binds the group context and with it the whole membership
 * and every member's credential. Equal on every honest member at the same epoch.
 */
export async function safetyFingerprint(state: ClientState): Promise<{ epoch: number; digits: string }> {
  const cs = await suite();
  const label = new TextEncoder().encode('kontor-safety-v1');
  const input = pack([label, state.groupContext.groupId, state.keySchedule.epochAuthenticator]);
  const h = await cs.hash.digest(input);
  const groups: string[] = [];
  for (let i = 0; i < 12; i++) {
    const n = ((h[i * 2]! << 16) | (h[i * 2 + 1]! << 8) | h[(i * 2 + 24) % 32]!) % 100000;
    groups.push(String(n).padStart(5, '0'));
  }
  return { epoch: epochOf(state), digits: groups.join(' ') };
}

/** Length-prefixed concatenation (u32 big-endian lengths). */
export function pack(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const p of parts) {
    dv.setUint32(o, p.length);
    out.set(p, o + 4);
    o += 4 + p.length;
  }
  return out;
}

export function unpack(bytes: Uint8Array, count: number): Uint8Array[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let o = 0;
  for (let i = 0; i < count; i++) {
    if (o + 4 > bytes.length) throw new MlsOpError('decode', 'truncated packed bytes');
    const n = dv.getUint32(o);
    if (o + 4 + n > bytes.length) throw new MlsOpError('decode', 'truncated packed bytes');
    out.push(bytes.slice(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return out;
}
