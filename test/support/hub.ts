/**
 * Test support: an in-memory stand-in for the gateway hub with the same delivery rules as
 * src/gateway (one commit per epoch, idempotent message ids, per-device inboxes), plus
 * helpers to make orgs and enrolled devices over fake IndexedDB.
 */
import 'fake-indexeddb/auto';
import type { ClaimedKeyPackage, InboxEntry } from '../../src/wire/protocol';
import type { Certificate } from '../../src/wire/certificate';
import { createOrg, issueCertificate, type Org, type TestOrg } from './orgs';
import { TransportError, type SendParams, type Transport } from '../../src/background/channel/transport';
import { openChannelDb, type ChannelDb } from '../../src/background/channel/db';
import { Keystore } from '../../src/background/channel/keystore';
import { loadOrCreateIdentity, saveCertificate } from '../../src/background/channel/identity';
import { CHAIN_TYPE, type DeviceRevocation, type IdentityCertificate } from '../../src/wire/identity';
import type { SignatureKeyPair } from '../../src/background/channel/mls';
import { toBase64 } from '../../src/wire/bytes';
import { endorse, issueIdentity, saveChain } from './identities';
import { ChannelEngine, type ChannelEvent } from '../../src/background/channel';

interface Dev {
  cert: Certificate;
  kps: string[];
  lastResort?: string;
  inbox: InboxEntry[];
  sendBlocked: boolean;
  ackBlocked: boolean;
}

export class MemoryHub {
  devices = new Map<string, Dev>();
  contacts = new Map<string, string[]>();
  convs = new Map<string, { epoch: number; members: string[]; nextSeq: number; ids: Map<string, { seq: number; sender: string }> }>();
  /** every accepted submission, in order (what a gateway would have stored) */
  log: SendParams[] = [];
  /** extra key packages a malicious gateway slips into claims */
  injected: ClaimedKeyPackage[] = [];
  /** statements the hub answers revocation queries with (the gateways sign theirs, src/gateway/revocations.ts) */
  revocationList: DeviceRevocation[] = [];
  /** domains whose gateway refuses revocation queries (one from before they existed) */
  revocationsRefused = new Set<string>();
  private nextId = 1;

  register(cert: Certificate) {
    this.devices.set(`${cert.deviceId}@${cert.orgDomain}`, { cert, kps: [], inbox: [], sendBlocked: false, ackBlocked: false });
  }

  private deliver(to: string, e: Omit<InboxEntry, 'id'>) {
    this.devices.get(to)?.inbox.push({ ...e, id: this.nextId++ });
  }

  transport(addr: string): Transport {
    const dev = () => this.devices.get(addr)!;
    return {
      createConversation: async (id) => {
        if (!this.convs.has(id)) this.convs.set(id, { epoch: 0, members: [addr], nextSeq: 1, ids: new Map() });
        return { hub: 'hub.example' };
      },
      send: async (p) => {
        if (dev().sendBlocked) throw new TransportError('offline', 'blocked');
        const c = this.convs.get(p.conversationId);
        if (!c) throw new TransportError('not_found', 'unknown conversation');
        const prior = c.ids.get(p.messageId);
        if (prior) return { seq: prior.seq, duplicate: true };
        if (!c.members.includes(addr)) throw new TransportError('forbidden', 'not a member');
        let recipients: string[];
        if (p.kind === 'commit') {
          if (p.epoch !== c.epoch) throw new TransportError('epoch_conflict', `epoch ${p.epoch} != ${c.epoch}`, { currentEpoch: c.epoch });
          recipients = [...new Set([...c.members, ...p.members!])].filter((m) => m !== addr);
          c.epoch++;
          c.members = p.members!;
        } else if (p.kind === 'application') {
          if (p.epoch > c.epoch) throw new TransportError('bad_request', 'epoch ahead');
          recipients = c.members.filter((m) => m !== addr);
        } else {
          if (!p.recipients!.every((r) => c.members.includes(r)))
            throw new TransportError('bad_request', 'welcome recipients must be members');
          recipients = p.recipients!;
        }
        const seq = c.nextSeq++;
        c.ids.set(p.messageId, { seq, sender: addr });
        this.log.push(p);
        for (const r of recipients) {
          this.deliver(r, {
            kind: p.kind,
            conversationId: p.conversationId,
            hub: 'hub.example',
            seq,
            messageId: p.messageId,
            epoch: p.epoch,
            sender: addr,
            payload: p.payload,
            receivedAt: Date.now(),
          });
        }
        return { seq, duplicate: false };
      },
      claimKeyPackages: async (domain, target) => {
        const employees = target.contact ? (this.contacts.get(`${domain}/${target.contact}`) ?? []) : [target.employee!];
        const out: ClaimedKeyPackage[] = [];
        for (const d of this.devices.values()) {
          if (d.cert.orgDomain !== domain || !employees.includes(d.cert.employeeId)) continue;
          const kp = d.kps.shift() ?? d.lastResort;
          if (kp) out.push({ certificate: d.cert, keyPackage: kp, lastResort: !d.kps.length && kp === d.lastResort });
        }
        return [...out, ...this.injected.splice(0)];
      },
      uploadKeyPackages: async (kps, lastResort) => {
        dev().kps.push(...kps);
        if (lastResort) dev().lastResort = lastResort;
      },
      countKeyPackages: async () => ({ available: dev().kps.length, lastResort: dev().lastResort !== undefined }),
      fetchInbox: async (after, limit) => {
        if (dev().sendBlocked) throw new TransportError('offline', 'blocked');
        return dev()
          .inbox.filter((e) => e.id > after)
          .slice(0, limit);
      },
      ack: async (ids) => {
        if (dev().ackBlocked) throw new TransportError('offline', 'blocked');
        dev().inbox = dev().inbox.filter((e) => !ids.includes(e.id));
      },
      // as a careless (or lying) gateway would: whatever it holds for the domain, asked or not
      revocations: async (domain) => {
        if (this.revocationsRefused.has(domain)) throw new TransportError('not_found', `${domain} answers no revocation queries`);
        return this.revocationList.filter((r) => r.orgDomain === domain);
      },
    };
  }
}

export type { Org };
/** An org for the in-memory hub (test/support/orgs.ts builds it; the name is the domain). */
export const makeOrg = (domain: string): Promise<TestOrg> => createOrg(domain, domain);
/** A device certificate signed by `org` (test/support/orgs.ts). */
export const issue = issueCertificate;

export function orgKeys(...orgs: Org[]) {
  const m = new Map(orgs.map((o) => [o.domain, o.key.publicKeyB64]));
  return (d: string) => m.get(d) ?? null;
}

let dbCounter = 0;

export interface TestDevice {
  db: ChannelDb;
  dbName: string;
  engine: ChannelEngine;
  address: string;
  events: ChannelEvent[];
  cert: Certificate;
  /** a fresh engine over the same database: what a restarted service worker sees */
  restart(): Promise<ChannelEngine>;
}

export async function makeDevice(
  hub: MemoryHub,
  org: Org,
  employeeId: string,
  displayName: string,
  orgKeyFor: (d: string) => string | null,
  kpCount = 3,
  now?: () => Date,
  certification: Certification = 'identity',
): Promise<TestDevice> {
  const dbName = `channel-test-${++dbCounter}-${Math.random().toString(36).slice(2)}`;
  const db = await openChannelDb(dbName);
  const ks = await Keystore.open(db);
  const id = await loadOrCreateIdentity(db, ks);
  const deviceId = `${employeeId}-${dbCounter}`;
  const cert = await issue(org, {
    deviceId,
    employeeId,
    displayName,
    devicePublicKey: id.deviceKey.publicKeyB64,
    mlsSignatureKey: id.mlsSignaturePublicB64,
  });
  if (certification === 'org-only') await saveCertificate(db, cert);
  else {
    const who = `${employeeId}@${org.domain} ${org.key.publicKeyB64}`;
    const known = identities.get(who);
    if (!known || certification === 'new-identity') {
      identities.set(who, {
        key: id.employeeKey!,
        certificate: await issueIdentity(org, { employeeId, displayName, identityKey: toBase64(id.employeeKey!.publicKey) }),
        firstDevice: deviceId,
      });
      await saveCertificate(db, cert, identities.get(who)!.certificate);
    } else {
      await saveChain(db, {
        type: CHAIN_TYPE,
        v: 1,
        device: cert,
        identity: known.certificate,
        endorsement: await endorse(known.key, cert, known.certificate.identityKey, known.firstDevice),
      });
    }
  }
  hub.register(cert);
  const address = `${deviceId}@${org.domain}`;
  const events: ChannelEvent[] = [];
  const open = () => ChannelEngine.open({ db, transport: hub.transport(address), orgKeyFor, onEvent: (e) => events.push(e), now });
  const d: TestDevice = {
    db,
    dbName,
    address,
    events,
    cert,
    engine: await open(),
    async restart() {
      d.engine = await open();
      return d.engine;
    },
  };
  await d.engine.replenishKeyPackages(kpCount);
  return d;
}

/**
 * Each employee's identity key, created by their first test device. Later devices of the same
 * employee are endorsed by it, as if linked from the first (issue 15).
 */
const identities = new Map<string, { key: SignatureKeyPair; certificate: IdentityCertificate; firstDevice: string }>();

/**
 * How a test device is certified: with the employee's identity (default: the first device
 * creates it, later ones are linked), by the org alone as a gateway could, or with a new
 * identity key the org certified (an identity reset, or a gateway minting one).
 */
export type Certification = 'identity' | 'org-only' | 'new-identity';

export const texts = async (d: TestDevice, conv: string) =>
  (await d.engine.messages(conv)).filter((m) => m.payload?.type === 'text').map((m) => m.payload!.text);
