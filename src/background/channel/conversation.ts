/**
 * The conversation engine: MLS conversations over a Transport, with every operation under a
 * per-conversation lock and its new state persisted (sealed) before anything is sent or
 * acknowledged. One engine per device, living in the background service worker.
 */
import type { InboxEntry } from '../../wire/protocol';
import type { Certificate } from '../../wire/certificate';
import type { ChannelDb, ConversationRecord } from './db';
import { Keystore } from './keystore';
import { KeyedMutex } from './lock';
import { TransportError, type Transport } from './transport';
import { IdentityError, createKeyPackages, credentialOf, loadOrCreateIdentity } from './identity';
import type { OrgKeyLookup } from './credentials';
import { createGroupState, generateKeyPackage, MlsOpError } from './mls';
import { revokeOwn } from './own-revocation';
import { checkRevocations, removeRevokedMembers, revocationAddress } from './revocations';
import type { DeviceRevocation } from '../../wire/identity';
import { readHeld } from './admission';
import { newMessageId, textPayload, type WirePayload } from './payload';
import { submitPending, type CommitOp } from './commits';
import { processEntry } from './inbox';
import { authConfig, openMessage, personOf, sealState, type ChannelEvent, type EngineContext, type MessageView } from './context';
import { utf8 } from '../../wire/bytes';
import { claimFor, clearRetry, retryOpOf, runCommit, type AddResult } from './commit-runner';
import { encryptAndSend, enqueue, flushOutbox, type Sent } from './outbox';
import { conversationView, deviceOrigins, heldView, listConversations, markRead, messageList, type HeldView } from './engine-views';

export type { AddResult } from './commit-runner';

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
      records: new Map(),
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
    const keyPackages = await claimFor(this.ctx, targets, (address) => address !== this.address);
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
    const keyPackages = await claimFor(this.ctx, via, (address) => addresses.includes(address));
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
  held(conversationId: string): Promise<HeldView[]> {
    return heldView(this.ctx, conversationId);
  }

  /** Removes devices (e.g. revoked ones): they cannot read anything sent afterwards. */
  async removeDevices(conversationId: string, addresses: string[]): Promise<void> {
    await this.runCommit(conversationId, { kind: 'remove', addresses });
  }

  private runCommit(conversationId: string, op: CommitOp): Promise<AddResult> {
    return runCommit(this.ctx, conversationId, op, this.maxRetries, () => this.sync());
  }

  /** Queues a text message (persisted first) and tries to send it right away. */
  async sendText(conversationId: string, text: string): Promise<MessageView> {
    const payload = textPayload(text, this.ctx.now());
    const sent = await this.queue(conversationId, payload, true);
    // sent at once: the view from what is in hand, rather than reading and opening the record just sealed
    if (sent)
      return {
        sender: this.ctx.self,
        payload,
        conversationId,
        id: payload.id,
        at: sent.at,
        direction: 'out',
        state: 'sent',
        seq: sent.seq,
      };
    return openMessage(this.ctx, (await this.ctx.db.get('messages', [conversationId, payload.id]))!);
  }

  /** the order of the last message written: strictly increasing (and after an earlier start's, unless the clock went back) */
  private lastOrder = 0;

  /** Persists a payload in the outbox (and, if shown, as a message), then tries to send it; what was sent at once, if it was. */
  private async queue(conversationId: string, payload: WirePayload, shown: boolean): Promise<Sent | null> {
    // taken now, before anything waits: messages leave in the order they were written, even
    // when a later one is queued while an earlier one still holds the lock
    const order = (this.lastOrder = Math.max(this.lastOrder + 1, this.ctx.now().getTime() * 1000));
    try {
      // an idle conversation writes once and sends; behind a busy lock (a commit on the wire)
      // the message is persisted first, so a worker stopped while it waits loses nothing
      const sent = this.ctx.lock.busy(conversationId)
        ? false
        : await this.ctx.lock.run(conversationId, () => encryptAndSend(this.ctx, conversationId, payload, shown, order));
      if (sent) return sent;
    } catch (e) {
      if (!(e instanceof TransportError && e.code === 'offline')) throw e;
      return null;
    }
    await enqueue(this.ctx, conversationId, payload, shown, order);
    try {
      await this.flush(conversationId);
    } catch (e) {
      if (!(e instanceof TransportError && e.code === 'offline')) throw e;
    }
    return null;
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
        if (r === 'retry' || r === 'conflict') return retryOpOf(this.ctx, id);
        await flushOutbox(this.ctx, id);
        return null;
      });
      if (retryOp) {
        await this.sync();
        await clearRetry(this.ctx, id);
        await this.runCommit(id, retryOp);
        await this.ctx.lock.run(id, () => flushOutbox(this.ctx, id));
      }
    }
  }

  /** Processes pushed or fetched inbox entries in order, acknowledging each only after it is persisted. */
  async receive(entries: InboxEntry[]): Promise<void> {
    for (const e of entries) {
      await this.ctx.lock.run(e.conversationId, () => processEntry(this.ctx, e));
      await this.ctx.transport.ack([e.id]);
    }
    // a verified revocation named a device still in the group (its revoker's removal did not come through)
    await removeRevokedMembers(this.ctx, (id, addresses) => this.removeDevices(id, addresses));
  }

  /**
   * Revokes another device of this employee (issue 15): a statement signed with the identity
   * key goes to every conversation the device is in, and this device removes it there. The
   * other members verify the statement themselves, show the device as removed and never add it again.
   */
  async revokeOwnDevice(
    deviceId: string,
    /** told the statement before any conversation is (the own gateway, which then refuses the device) */
    announce?: (statement: DeviceRevocation) => Promise<unknown>,
  ): Promise<{ conversations: string[] }> {
    return { conversations: await revokeOwn(this.ctx, deviceId, announce, (id, st) => this.relayAndRemove(id, st)) };
  }

  /**
   * Asks the gateways which member devices were revoked (the own one for colleagues, the
   * partners' through federation) and acts on each verified statement (revocations.ts).
   */
  async checkRevocations(): Promise<{ removed: string[] }> {
    return { removed: await checkRevocations(this.ctx, (id, s) => this.relayAndRemove(id, s)) };
  }

  /** Sends the statement to the conversation, so every member shows why, then removes the device. */
  private async relayAndRemove(conversationId: string, statement: DeviceRevocation): Promise<void> {
    await this.queue(
      conversationId,
      { v: 1, type: 'revocation', id: newMessageId(), statement, sentAt: this.ctx.now().toISOString() },
      false,
    );
    await this.removeDevices(conversationId, [revocationAddress(statement)]);
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

  conversations() {
    return listConversations(this.ctx);
  }

  /** Members with verification against the currently pinned org keys, and the safety fingerprint. */
  conversation(conversationId: string) {
    return conversationView(this.ctx, conversationId);
  }

  /** How each device of this employee seen here was added: from this device's chain and its conversations' members. */
  deviceOrigins() {
    return deviceOrigins(this.ctx);
  }

  messages(conversationId: string): Promise<MessageView[]> {
    return messageList(this.ctx, conversationId);
  }

  markRead(conversationId: string): Promise<void> {
    // under the lock: a message is shown before its write commits (inbox.ts), so the page can
    // mark it read while that write, which counts it unread, is still under way
    return this.ctx.lock.run(conversationId, () => markRead(this.ctx, conversationId));
  }
}
