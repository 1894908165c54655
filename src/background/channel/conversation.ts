/**
 * The conversation engine: MLS conversations over a Transport, with every operation under a
 * per-conversation lock and its new state persisted (sealed) before anything is sent or
 * acknowledged. One engine per device, living in the background service worker.
 */
import type { InboxEntry } from '../../wire/protocol';
import type { Certificate } from '../../wire/certificate';
import type { ChannelDb, ConversationRecord, MessageRecord, OutboxRecord } from './db';
import { Keystore } from './keystore';
import { KeyedMutex } from './lock';
import { TransportError, type Transport } from './transport';
import { IdentityError, createKeyPackages, credentialOf, loadOrCreateIdentity } from './identity';
import type { OrgKeyLookup } from './credentials';
import {
  createGroupState,
  encryptApplication,
  epochOf,
  generateKeyPackage,
  MlsOpError,
  safetyFingerprint,
  signWithSignatureKey,
} from './mls';
import { REVOCATION_TYPE, signRevocation } from '../../wire/identity';
import { readHeld, type HeldDevice } from './admission';
import { encodePayload, newMessageId, textPayload, type WirePayload } from './payload';
import { prepareCommit, submitPending, openPending, writeConversation, type CommitOp, type PrepareResult } from './commits';
import { processEntry } from './inbox';
import {
  authConfig,
  b64,
  loadConversation,
  memberPeople,
  openMessage,
  outboxAad,
  personOf,
  sealBody,
  sealState,
  verifyMembers,
  type ChannelEvent,
  type EngineContext,
  type MessageView,
} from './context';
import { toBase64, utf8 } from '../../wire/bytes';

export interface ChannelEngineOptions {
  db: ChannelDb;
  transport: Transport;
  /** base64 org public key pinned for a domain: the own org key or an admitted partner's */
  orgKeyFor: OrgKeyLookup;
  onEvent?: (e: ChannelEvent) => void;
  now?: () => Date;
  /** how often a commit that lost its epoch is composed again (default 5) */
  maxCommitRetries?: number;
}

/** Whose devices to add: every device of a contact's members at `domain`, or of one employee. */
export interface Target {
  domain: string;
  contact?: string;
  employee?: string;
}

export interface AddResult {
  added: PrepareResult['adding'];
  rejected: PrepareResult['rejected'];
  held: PrepareResult['held'];
}

export class ChannelEngine {
  private constructor(
    private readonly ctx: EngineContext,
    private readonly maxRetries: number,
  ) {}

  /** Opens the engine for an enrolled device (throws IdentityError 'not_enrolled' otherwise). */
  static async open(o: ChannelEngineOptions): Promise<ChannelEngine> {
    const ks = await Keystore.open(o.db);
    const identity = await loadOrCreateIdentity(o.db, ks);
    if (!identity.certificate) throw new IdentityError('not_enrolled', 'device has no certificate yet');
    const certificate: Certificate = identity.certificate;
    const listeners = o.onEvent;
    const ctx: EngineContext = {
      db: o.db,
      ks,
      transport: o.transport,
      orgKeyFor: o.orgKeyFor,
      now: o.now ?? (() => new Date()),
      identity: { ...identity, certificate },
      self: personOf(certificate),
      lock: new KeyedMutex(`kontor-channel:${o.db.name}`),
      cache: new Map(),
      revokedPending: new Set(),
      emit: (e) => {
        try {
          listeners?.(e);
        } catch {
          /* a UI listener must not break the engine */
        }
      },
    };
    return new ChannelEngine(ctx, o.maxCommitRetries ?? 5);
  }

  /** deviceId@orgDomain of this device */
  get address(): string {
    return this.ctx.self.address;
  }
  get certificate(): Certificate {
    return this.ctx.identity.certificate;
  }

  /** Tops up the gateway's stock of one-time key packages (and the last-resort one if missing). */
  async replenishKeyPackages(target = 20): Promise<number> {
    const { available, lastResort } = await this.ctx.transport.countKeyPackages();
    const need = Math.max(0, target - available);
    const kps = need ? await createKeyPackages(this.ctx.db, this.ctx.ks, this.ctx.identity, need) : [];
    const lr = lastResort ? undefined : (await createKeyPackages(this.ctx.db, this.ctx.ks, this.ctx.identity, 1, true))[0];
    if (kps.length || lr) await this.ctx.transport.uploadKeyPackages(kps, lr);
    return kps.length;
  }

  /** Creates a conversation hosted at the own gateway and adds the targets' devices. */
  async startConversation(
    targets: Target[],
    conversationId = newMessageId().replace(/^m/, 'c'),
  ): Promise<{ conversationId: string } & AddResult> {
    const { hub } = await this.ctx.transport.createConversation(conversationId);
    await this.ctx.lock.run(conversationId, async () => {
      if (await this.ctx.db.get('conversations', conversationId)) return;
      const own = await generateKeyPackage(credentialOf(this.ctx.identity), this.ctx.identity.mlsSignature);
      const state = await createGroupState(utf8(conversationId), own, authConfig(this.ctx).config);
      const now = this.ctx.now().getTime();
      const rec: ConversationRecord = {
        id: conversationId,
        hub,
        epoch: 0,
        state: await sealState(this.ctx, conversationId, state),
        pending: null,
        status: 'active',
        warning: null,
        createdAt: now,
        lastActivity: now,
        unread: 0,
      };
      await this.ctx.db.put('conversations', rec);
      this.ctx.cache.set(conversationId, state);
    });
    return { conversationId, ...(await this.addMembers(conversationId, targets)) };
  }

  /** Claims key packages for the targets, checks every credential, commits the valid ones. */
  async addMembers(conversationId: string, targets: Target[]): Promise<AddResult> {
    const keyPackages: { keyPackage: string; domain: string }[] = [];
    for (const t of targets) {
      const claimed = await this.ctx.transport.claimKeyPackages(t.domain, { contact: t.contact, employee: t.employee });
      for (const c of claimed)
        if (`${c.certificate.deviceId}@${c.certificate.orgDomain}` !== this.address)
          keyPackages.push({ keyPackage: c.keyPackage, domain: t.domain });
    }
    return this.runCommit(conversationId, { kind: 'add', keyPackages });
  }

  /**
   * Brings back members that lost sync (their side shows the conversation as out of sync):
   * one commit removes them, a second adds a fresh key package of each same device, and its
   * Welcome lets them rejoin at the new epoch. Two commits, not one: a device still in sync
   * takes in its removal (ts-mls 1.6.4 cannot process a commit that removes and re-adds the
   * receiver), and then the Welcome of a removed conversation. Key packages are claimed
   * through `via`, the same targets that added them; only those of `addresses` are used.
   */
  async readdDevices(conversationId: string, addresses: string[], via: Target[]): Promise<AddResult> {
    const want = new Set(addresses);
    const keyPackages: { keyPackage: string; domain: string }[] = [];
    for (const t of via) {
      const claimed = await this.ctx.transport.claimKeyPackages(t.domain, { contact: t.contact, employee: t.employee });
      for (const c of claimed)
        if (want.has(`${c.certificate.deviceId}@${c.certificate.orgDomain}`))
          keyPackages.push({ keyPackage: c.keyPackage, domain: t.domain });
    }
    if (!keyPackages.length) return { added: [], rejected: [], held: [] };
    await this.runCommit(conversationId, { kind: 'remove', addresses });
    // a member asked for these very devices again
    return this.runCommit(conversationId, { kind: 'add', keyPackages, accept: addresses });
  }

  /**
   * A member accepts a device that membership sync held (admission.ts): it is added with the
   * key package it was found with, and an accepted new identity becomes the known one.
   */
  async acceptHeld(conversationId: string, address: string): Promise<AddResult> {
    const rec = await this.ctx.db.get('conversations', conversationId);
    const h = rec ? (await readHeld(this.ctx, rec)).find((x) => x.address === address) : undefined;
    if (!h) throw new MlsOpError('wrong_group', `no held device ${address} in ${conversationId}`);
    return this.runCommit(conversationId, {
      kind: 'add',
      keyPackages: [{ keyPackage: h.keyPackage, domain: h.domain }],
      accept: [address],
    });
  }

  /** Devices that wait for a member's acceptance, with why (no key material). */
  async held(conversationId: string): Promise<Omit<HeldDevice, 'keyPackage'>[]> {
    const rec = await this.ctx.db.get('conversations', conversationId);
    return rec ? (await readHeld(this.ctx, rec)).map(({ keyPackage: _kp, ...rest }) => rest) : [];
  }

  /** Removes devices (e.g. revoked ones): they cannot read anything sent afterwards. */
  async removeDevices(conversationId: string, addresses: string[]): Promise<void> {
    await this.runCommit(conversationId, { kind: 'remove', addresses });
  }

  private async runCommit(conversationId: string, op: CommitOp): Promise<AddResult> {
    let first: PrepareResult | undefined;
    for (let attempt = 0; attempt <= this.maxRetries; attempt++) {
      const outcome = await this.ctx.lock.run(conversationId, async () => {
        const before = await submitPending(this.ctx, conversationId); // finish an older one first
        if (before === 'offline') throw new TransportError('offline', 'gateway unreachable');
        if (before === 'conflict') return 'conflict';
        if (before === 'retry') await this.clearRetry(conversationId);
        const prep = await prepareCommit(this.ctx, conversationId, op);
        first ??= prep;
        if (!prep.prepared) return 'done';
        return submitPending(this.ctx, conversationId);
      });
      if (outcome === 'offline') throw new TransportError('offline', 'commit stays pending until the gateway is reachable');
      if (outcome !== 'conflict') {
        for (const error of first?.rejected ?? []) this.ctx.emit({ type: 'warning', conversationId, error });
        return { added: first?.adding ?? [], rejected: first?.rejected ?? [], held: first?.held ?? [] };
      }
      // another member's commit won this epoch: take it in, then compose ours again
      await this.sync();
      await this.clearRetry(conversationId);
    }
    throw new TransportError('epoch_conflict', `commit lost the epoch race ${this.maxRetries + 1} times`);
  }

  private async clearRetry(conversationId: string): Promise<void> {
    const rec = await this.ctx.db.get('conversations', conversationId);
    if (rec?.pending && (await openPending(this.ctx, rec))?.stage === 'retry') await writeConversation(this.ctx, rec, null, null);
  }

  /** Queues a text message (persisted first) and tries to send it right away. */
  async sendText(conversationId: string, text: string): Promise<MessageView> {
    const payload = textPayload(text, this.ctx.now());
    await this.queue(conversationId, payload, true);
    return openMessage(this.ctx, (await this.ctx.db.get('messages', [conversationId, payload.id]))!);
  }

  /** Persists a payload in the outbox (and, if shown, as a message), then tries to send it. */
  private async queue(conversationId: string, payload: WirePayload, shown: boolean): Promise<void> {
    const bytes = encodePayload(payload);
    const at = this.ctx.now().getTime();
    const out: OutboxRecord = {
      conversationId,
      messageId: payload.id,
      payload: await this.ctx.ks.seal(bytes, outboxAad(conversationId, payload.id)),
      ciphertext: null,
      epoch: null,
      createdAt: at,
    };
    // sealed before the transaction: an await on other work would let IndexedDB commit it early
    const msg: MessageRecord | null =
      shown && payload.type === 'text'
        ? {
            conversationId,
            id: payload.id,
            at,
            direction: 'out',
            body: await sealBody(this.ctx, conversationId, payload.id, { sender: this.ctx.self, payload }),
            state: 'queued',
            seq: null,
          }
        : null;
    const tx = this.ctx.db.transaction(['outbox', 'messages'], 'readwrite');
    await tx.objectStore('outbox').add(out);
    if (msg) await tx.objectStore('messages').put(msg);
    await tx.done;
    try {
      await this.flush(conversationId);
    } catch (e) {
      if (!(e instanceof TransportError && e.code === 'offline')) throw e;
    }
  }

  /**
   * Sends what is pending: unfinished commits and welcomes, then queued messages in order.
   * Call on reconnect. Throws TransportError('offline') if the gateway is unreachable.
   */
  async flush(conversationId?: string): Promise<void> {
    const ids = conversationId ? [conversationId] : [...new Set([...(await this.ctx.db.getAllKeys('conversations'))])];
    for (const id of ids) {
      const retryOp = await this.ctx.lock.run(id, async () => {
        const r = await submitPending(this.ctx, id);
        if (r === 'offline') throw new TransportError('offline', 'gateway unreachable');
        if (r === 'retry' || r === 'conflict') {
          const rec = (await this.ctx.db.get('conversations', id))!;
          const p = await openPending(this.ctx, rec);
          return p?.stage === 'retry' ? p.op : null;
        }
        await this.flushOutbox(id);
        return null;
      });
      if (retryOp) {
        await this.sync();
        await this.clearRetry(id);
        await this.runCommit(id, retryOp);
        await this.ctx.lock.run(id, () => this.flushOutbox(id));
      }
    }
  }

  /** Under the lock: encrypt (persisting the advanced ratchet with the ciphertext), then send. */
  private async flushOutbox(conversationId: string): Promise<void> {
    const entries = await this.ctx.db.getAllFromIndex('outbox', 'byConversation', conversationId);
    entries.sort((a, b) => a.seq! - b.seq!);
    for (let e of entries) {
      const loaded = await loadConversation(this.ctx, conversationId);
      if (loaded?.rec.status !== 'active') return;
      if (!e.ciphertext) {
        const plain = await this.ctx.ks.open(e.payload, outboxAad(conversationId, e.messageId));
        const enc = await encryptApplication(loaded.state, plain);
        e = { ...e, ciphertext: enc.message, epoch: epochOf(enc.newState) };
        const sealed = await sealState(this.ctx, conversationId, enc.newState);
        const tx = this.ctx.db.transaction(['conversations', 'outbox'], 'readwrite');
        await tx.objectStore('conversations').put({ ...loaded.rec, state: sealed, epoch: epochOf(enc.newState) });
        await tx.objectStore('outbox').put(e);
        await tx.done;
        this.ctx.cache.set(conversationId, enc.newState);
      }
      const r = await this.ctx.transport.send({
        conversationId,
        hub: loaded.rec.hub,
        messageId: e.messageId,
        kind: 'application',
        epoch: e.epoch!,
        payload: b64(e.ciphertext!),
      });
      const tx = this.ctx.db.transaction(['outbox', 'messages', 'conversations'], 'readwrite');
      await tx.objectStore('outbox').delete(e.seq!);
      const m = await tx.objectStore('messages').get([conversationId, e.messageId]);
      if (m && m.state === 'queued') await tx.objectStore('messages').put({ ...m, state: 'sent', seq: r.seq });
      const c = await tx.objectStore('conversations').get(conversationId);
      if (c) await tx.objectStore('conversations').put({ ...c, lastActivity: this.ctx.now().getTime() });
      await tx.done;
      this.ctx.emit({ type: 'delivery', conversationId, messageId: e.messageId, state: 'sent' });
    }
  }

  /** Processes pushed or fetched inbox entries in order, acknowledging each only after it is persisted. */
  async receive(entries: InboxEntry[]): Promise<void> {
    for (const e of entries) {
      await this.ctx.lock.run(e.conversationId, () => processEntry(this.ctx, e));
      await this.ctx.transport.ack([e.id]);
    }
    // a verified revocation named a device still in the group (its revoker's removal did not come through)
    for (const id of [...this.ctx.revokedPending]) {
      this.ctx.revokedPending.delete(id);
      const rec = await this.ctx.db.get('conversations', id);
      if (rec?.revoked?.length && rec.status === 'active')
        await this.removeDevices(id, rec.revoked).catch((err: unknown) =>
          this.ctx.emit({ type: 'warning', conversationId: id, error: err as Error }),
        );
    }
  }

  /**
   * Revokes another device of this employee (issue 15): a statement signed with the identity
   * key goes to every conversation the device is in, and this device removes it there. The
   * other members verify the statement themselves, show the device as removed and never add it again.
   */
  async revokeOwnDevice(deviceId: string): Promise<{ conversations: string[] }> {
    const { chain, employeeKey } = this.ctx.identity;
    if (!chain || !employeeKey || toBase64(employeeKey.publicKey) !== chain.identity.identityKey) {
      throw new IdentityError('not_enrolled', 'this device does not hold the employee identity key');
    }
    if (deviceId === this.ctx.self.deviceId) throw new IdentityError('identity_mismatch', 'a device does not revoke itself');
    const statement = await signRevocation(
      {
        type: REVOCATION_TYPE,
        v: 1,
        employeeId: this.ctx.self.employeeId,
        orgDomain: this.ctx.self.orgDomain,
        deviceId,
        issuedBy: 'identity',
        revokedAt: this.ctx.now().toISOString(),
      },
      (d) => signWithSignatureKey(employeeKey.signKey, d),
    );
    const address = `${deviceId}@${this.ctx.self.orgDomain}`;
    const done: string[] = [];
    for (const c of await this.conversations()) {
      const loaded = await loadConversation(this.ctx, c.id);
      if (!loaded || !memberPeople(loaded.state).some((m) => m.address === address)) continue;
      await this.queue(c.id, { v: 1, type: 'revocation', id: newMessageId(), statement, sentAt: this.ctx.now().toISOString() }, false);
      await this.removeDevices(c.id, [address]);
      const rec = (await this.ctx.db.get('conversations', c.id))!;
      await this.ctx.db.put('conversations', { ...rec, revoked: [...new Set([...(rec.revoked ?? []), address])] });
      done.push(c.id);
    }
    return { conversations: done };
  }

  /** Fetches everything waiting at the gateway (after reconnect) and processes it. */
  async sync(): Promise<number> {
    let after = 0;
    let n = 0;
    for (;;) {
      const batch = await this.ctx.transport.fetchInbox(after, 100);
      if (!batch.length) return n;
      await this.receive(batch);
      n += batch.length;
      after = Math.max(after, ...batch.map((b) => b.id));
    }
  }

  // ---- views for the UI ------------------------------------------------------------------

  async conversations() {
    const recs = await this.ctx.db.getAll('conversations');
    return recs
      .sort((a, b) => b.lastActivity - a.lastActivity)
      .map((r) => ({
        id: r.id,
        hub: r.hub,
        epoch: r.epoch,
        status: r.status,
        warning: r.warning,
        unread: r.unread,
        lastActivity: r.lastActivity,
      }));
  }

  /** Members with verification against the currently pinned org keys, and the safety fingerprint. */
  async conversation(conversationId: string) {
    const loaded = await loadConversation(this.ctx, conversationId);
    if (!loaded) return null;
    const { rec, state } = loaded;
    const members = await verifyMembers(this.ctx, state);
    const partnerOrgs = [...new Set(members.map((m) => m.orgDomain))].filter((d) => d !== this.ctx.self.orgDomain);
    const verified = members.every((m) => m.verification.state === 'verified');
    const outbox = await this.ctx.db.countFromIndex('outbox', 'byConversation', conversationId);
    return {
      id: rec.id,
      hub: rec.hub,
      epoch: rec.epoch,
      status: rec.status,
      warning: rec.warning,
      unread: rec.unread,
      lastActivity: rec.lastActivity,
      members,
      partnerOrgs,
      verified,
      fingerprint: await safetyFingerprint(state),
      queued: outbox,
      held: await this.held(conversationId),
    };
  }

  async messages(conversationId: string): Promise<MessageView[]> {
    const range = IDBKeyRange.bound([conversationId, -Infinity], [conversationId, Infinity]);
    const recs = await this.ctx.db.getAllFromIndex('messages', 'byConversation', range);
    // The index orders by arrival time, and ties by the (random) message id: a backlog taken
    // in within one millisecond would show shuffled. The hub's position decides ties.
    recs.sort((a, b) => a.at - b.at || (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
    return Promise.all(recs.map((r) => openMessage(this.ctx, r)));
  }

  async markRead(conversationId: string): Promise<void> {
    const tx = this.ctx.db.transaction('conversations', 'readwrite');
    const r = await tx.store.get(conversationId);
    if (r) await tx.store.put({ ...r, unread: 0 });
    await tx.done;
  }
}
