/**
 * The private channel as a background service: this browser's identity and enrollment,
 * the authenticated connection to the company's own gateway (reconnecting, kept alive),
 * the MLS conversation engine, and the bridge to the UI (change events) and to the
 * operating system (notifications that name the sender, never the text).
 */
import { browser } from '../../shared/browser';
import { KontorError } from '../../shared/errors';
import { isGatewayUrl, normalizeDomain } from '../../shared/policy/domain';
import { effectiveSettings } from '../../shared/policy/effective';
import type { ChannelIdentity } from '../../shared/protocol';
import { enroll, KontorClient } from '../../wire/client';
import { MANIFEST_PATH, verifyManifest } from '../../wire/manifest';
import { listPartners } from '../partners/directory';
import { getCachedManifest, normalizeFingerprint } from '../partners/manifests';
import { getPolicy } from '../policy';
import { getUserSettings } from '../settings';
import { lastSync, markSynced, readMeta } from './meta';
import { messageView } from './views';
import { ChannelEngine, Keystore, gatewayTransport, loadOrCreateIdentity, openChannelDb, saveCertificate, type ChannelEvent, type Identity } from './index';

const META_KEY = 'channel:meta';
const KEEPALIVE_MS = 20_000;

interface Meta {
  gatewayUrl: string;
  domain: string;
  orgName: string;
  /** the own org key, pinned at enrollment from the gateway's signed manifest */
  orgPublicKey: string;
}

let meta: Meta | undefined;
let identity: Identity | undefined;
let engine: ChannelEngine | null = null;
let client: KontorClient | null = null;
let connecting: Promise<void> | null = null;
let retryDelay = 1000;
let keepalive: ReturnType<typeof setInterval> | undefined;
let db: Awaited<ReturnType<typeof openChannelDb>> | undefined;
let lastClaim: Set<string> | null = null;

async function loadMeta(): Promise<Meta | undefined> {
  return (await browser.storage.local.get(META_KEY))[META_KEY] as Meta | undefined;
}

/** The org key an MLS credential must chain to: our own, or the pinned key of a partner. */
export async function orgKeyFor(domain: string): Promise<string | null> {
  if (meta && domain === meta.domain) return meta.orgPublicKey;
  const partner = (await listPartners()).find((p) => p.domain === domain);
  if (!partner?.fingerprint || partner.keyWarning) return null;
  const cached = await getCachedManifest(domain);
  if (!cached || normalizeFingerprint(cached.fingerprint) !== normalizeFingerprint(partner.fingerprint)) return null;
  return cached.manifest.orgPublicKey;
}

function broadcast(e: ChannelEvent | { type: 'status' }): void {
  // Only Kontor's own pages receive runtime messages from the background; web pages and
  // content scripts never do (tabs.sendMessage is not used for channel data).
  void browser.runtime
    .sendMessage({
      kontor: 1,
      event: 'channel',
      type: e.type,
      conversationId: 'conversationId' in e ? e.conversationId : null,
      ...(e.type === 'message' ? { message: messageView(e.message) } : {}),
      ...(e.type === 'delivery' ? { messageId: e.messageId, state: e.state } : {}),
    })
    .catch(() => undefined);
}

async function notify(e: ChannelEvent): Promise<void> {
  if (e.type !== 'message' || e.message.direction !== 'in' || !e.message.payload) return;
  const partner = (await listPartners()).find((p) => p.domain === e.message.sender.orgDomain);
  const org = partner?.name ?? e.message.sender.orgDomain;
  await browser.notifications
    .create(`kontor-${e.conversationId}`, {
      type: 'basic',
      iconUrl: browser.runtime.getURL('icons/icon-128.png'),
      title: browser.i18n.getMessage(partner && partner.state !== 'unverified' ? 'notifyTitleVerified' : 'notifyTitle', org),
      // The message text stays in Kontor: the OS notification names only the sender.
      message: browser.i18n.getMessage('notifyBody', e.message.sender.displayName),
    })
    .catch(() => undefined);
}

async function openEngine(): Promise<void> {
  db ??= await openChannelDb();
  const ks = await Keystore.open(db);
  identity = await loadOrCreateIdentity(db, ks);
  meta = await loadMeta();
  if (!identity.certificate || !meta || engine) return;
  const transport = gatewayTransport(() => client);
  engine = await ChannelEngine.open({
    db,
    transport: {
      ...transport,
      // Membership sync needs to know which devices a claim returned (see syncMembers).
      claimKeyPackages: async (domain, target) => {
        const claimed = await transport.claimKeyPackages(domain, target);
        lastClaim = new Set(claimed.map((c) => `${c.certificate.deviceId}@${c.certificate.orgDomain}`));
        return claimed;
      },
    },
    orgKeyFor,
    onEvent: (e) => {
      broadcast(e);
      void notify(e);
    },
  });
}

/** Connects (or reconnects) to the own gateway; safe to call any time. */
export function connect(): Promise<void> {
  connecting ??= (async () => {
    try {
      await openEngine();
      if (!engine || !identity?.certificate || !meta || client) return;
      const c = await KontorClient.connect({ gatewayUrl: meta.gatewayUrl, certificate: identity.certificate, deviceKey: identity.deviceKey.privateKey });
      client = c;
      retryDelay = 1000;
      c.onEvent((e) => {
        if (e.event === 'inbox') void engine?.receive([e.entry]);
        else if (e.event === 'revoked') c.close();
      });
      c.onClose(() => {
        if (client === c) client = null;
        clearInterval(keepalive);
        broadcast({ type: 'status' });
        setTimeout(() => void connect(), retryDelay);
        retryDelay = Math.min(retryDelay * 2, 60_000);
      });
      // Regular traffic keeps the gateway connection, and with it the service worker, alive.
      clearInterval(keepalive);
      keepalive = setInterval(() => void c.call('keyPackages.count', {}).catch(() => undefined), KEEPALIVE_MS);
      broadcast({ type: 'status' });
      await engine.sync();
      await engine.flush().catch(() => undefined);
      await engine.replenishKeyPackages(10);
      await syncDue();
    } catch (error) {
      console.warn('[kontor] gateway connection failed:', error instanceof Error ? error.message : error);
      if (meta) setTimeout(() => void connect(), retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60_000);
    } finally {
      connecting = null;
    }
  })();
  return connecting;
}

export async function channelIdentity(): Promise<ChannelIdentity> {
  await openEngine();
  const settings = effectiveSettings(getPolicy().policy, await getUserSettings());
  const cert = identity?.certificate;
  return {
    enrolled: !!cert && !!meta,
    displayName: cert?.displayName ?? null,
    employeeId: cert?.employeeId ?? null,
    orgDomain: cert?.orgDomain ?? null,
    orgName: meta?.orgName ?? null,
    gatewayUrl: meta?.gatewayUrl ?? settings.organization.gateway ?? null,
    gatewayLocked: settings.locks['organization.gateway'],
    connected: client !== null,
  };
}

/** Enrolls this browser with a one-time code from the admin. The policy's gateway wins. */
export async function enrollDevice(typedGateway: string | undefined, code: string): Promise<ChannelIdentity> {
  const settings = effectiveSettings(getPolicy().policy, await getUserSettings());
  const gatewayUrl = (settings.locks['organization.gateway'] ? settings.organization.gateway : typedGateway ?? settings.organization.gateway)?.replace(/\/$/, '');
  if (!gatewayUrl || !isGatewayUrl(gatewayUrl)) throw new KontorError('invalid_params', 'enter your company gateway address (https://…)');
  await openEngine();
  if (identity?.certificate && meta) throw new KontorError('conflict', 'this browser is already enrolled');
  // The gateway's signed manifest names the org and its key; the certificate must chain to it.
  let manifest;
  try {
    const r = await fetch(gatewayUrl + MANIFEST_PATH, { credentials: 'omit', cache: 'no-store' });
    manifest = await verifyManifest(await r.json());
  } catch (error) {
    throw new KontorError('unavailable', `no valid Kontor gateway at ${gatewayUrl}`, { cause: error });
  }
  const policyDomain = settings.organization.domain;
  if (policyDomain && normalizeDomain(policyDomain) !== manifest.domain) throw new KontorError('forbidden', `the gateway belongs to ${manifest.domain}, not ${policyDomain}`);
  const { certificate } = await enroll({
    gatewayUrl,
    domain: manifest.domain,
    code: code.trim(),
    mlsSignatureKey: identity!.mlsSignaturePublicB64,
    deviceKey: identity!.deviceKey,
    orgPublicKey: manifest.orgPublicKey,
  }).catch((error: unknown) => {
    throw new KontorError('forbidden', `enrollment refused: ${error instanceof Error ? error.message : String(error)}`);
  });
  await saveCertificate(db!, certificate);
  meta = { gatewayUrl, domain: manifest.domain, orgName: manifest.orgName, orgPublicKey: manifest.orgPublicKey };
  await browser.storage.local.set({ [META_KEY]: meta });
  await connect();
  return channelIdentity();
}

export async function requireEngine(): Promise<ChannelEngine> {
  await openEngine();
  if (!engine) throw new KontorError('unavailable', 'enroll this browser first');
  return engine;
}

export function isConnected(): boolean {
  return client !== null;
}

/**
 * Brings a conversation's members in line with the partner contact it was opened with: new
 * colleagues of that contact are added (they read only what follows), devices that are no
 * longer there (left the team, revoked) are removed (they read nothing that follows).
 */
export async function syncMembers(conversationId: string, partnerDomain: string, contact: string): Promise<{ added: number; removed: number }> {
  const e = await requireEngine();
  if (!isConnected()) throw new KontorError('unavailable', 'not connected to your company gateway');
  lastClaim = null;
  const { added } = await e.addMembers(conversationId, [{ domain: partnerDomain, contact }]);
  const claimed = lastClaim as Set<string> | null;
  if (!claimed) return { added: added.length, removed: 0 };
  const view = await e.conversation(conversationId);
  const stale = (view?.members ?? []).filter((m) => !m.self && m.orgDomain === partnerDomain && !claimed.has(m.address)).map((m) => m.address);
  if (stale.length) await e.removeDevices(conversationId, stale);
  return { added: added.length, removed: stale.length };
}

/**
 * Re-adds one member device (see ChannelEngine.readdDevices): partner devices through the
 * contact the conversation was opened with, own colleagues through their employee id.
 */
export async function readdMember(conversationId: string, address: string, partnerDomain: string, contact: string): Promise<{ added: number }> {
  const e = await requireEngine();
  if (!isConnected()) throw new KontorError('unavailable', 'not connected to your company gateway');
  const m = (await e.conversation(conversationId))?.members.find((x) => x.address === address && !x.self);
  if (!m) throw new KontorError('not_found', 'no such member in this conversation');
  const via = m.orgDomain === partnerDomain ? { domain: partnerDomain, contact } : { domain: m.orgDomain, employee: m.employeeId };
  const { added } = await e.readdDevices(conversationId, [address], [via]);
  return { added: added.length };
}

const SYNC_EVERY_MS = 10 * 60_000;

/** On (re)connect: membership sync for the conversations this browser opened, at most every 10 minutes. */
async function syncDue(): Promise<void> {
  if (!engine) return;
  for (const c of await engine.conversations()) {
    const meta = await readMeta(c.id);
    if (!meta?.partnerDomain || !meta.contact || Date.now() - (await lastSync(c.id)) < SYNC_EVERY_MS) continue;
    await markSynced(c.id);
    await syncMembers(c.id, meta.partnerDomain, meta.contact).catch((e: unknown) => console.warn('[kontor] member sync', e));
  }
}
