/**
 * The conversation engine's lifecycle in the background: this browser's identity (IndexedDB),
 * where it is enrolled (storage), and the engine, opened once both exist. The engine's events
 * go to Kontor's pages (ui-events.ts) and to the operating system (notify.ts).
 */
import { KontorError } from '../../shared/errors';
import type { Certificate } from '../../wire/certificate';
import type { IdentityCertificate } from '../../wire/identity';
import { listPartners } from '../partners/directory';
import { getCachedManifest, normalizeFingerprint } from '../partners/manifests';
import { storage, type RecordValue } from '../storage';
import { recordingClaims } from './claims';
import { ChannelEngine, Keystore, gatewayTransport, loadOrCreateIdentity, openChannelDb, saveCertificate, type Identity } from './index';
import { currentClient } from './link';
import { notify } from './notify';
import { broadcast } from './ui-events';

/** Where this browser is enrolled (storage/records.ts). */
export type EnrollmentMeta = NonNullable<RecordValue<'channelMeta'>>;

let db: Awaited<ReturnType<typeof openChannelDb>> | undefined;
let identity: Identity | undefined;
let meta: EnrollmentMeta | undefined;
let engine: ChannelEngine | null = null;
/** ChannelEngine.open under way, shared by concurrent first callers */
let opening: Promise<void> | null = null;

/** The org key an MLS credential must chain to: our own, or the pinned key of a partner. */
export async function orgKeyFor(domain: string): Promise<string | null> {
  if (meta && domain === meta.domain) return meta.orgPublicKey;
  const partner = (await listPartners()).find((p) => p.domain === domain);
  if (!partner?.fingerprint || partner.keyWarning) return null;
  const cached = await getCachedManifest(domain);
  if (!cached || normalizeFingerprint(cached.fingerprint) !== normalizeFingerprint(partner.fingerprint)) return null;
  return cached.manifest.orgPublicKey;
}

/** This browser's channel database, opened once. */
export async function channelDb(): Promise<NonNullable<typeof db>> {
  db ??= await openChannelDb();
  return db;
}

/** Opens the identity, and the engine once this browser is enrolled; safe to call any time. */
export async function openEngine(): Promise<void> {
  // Once open, the engine holds the identity it was opened with, and enrollment cannot change
  // any more (enrolling and linking refuse an enrolled browser): nothing to read again. Every
  // page request (each message sent) used to read the keystore, the identity, unseal two keys
  // and read storage here first.
  if (engine) return;
  const db = await channelDb();
  const ks = await Keystore.open(db);
  identity = await loadOrCreateIdentity(db, ks);
  meta = await storage.get('channelMeta');
  if (!identity.certificate || !meta || engine) return;
  // concurrent first callers (the connection, a page's request) share one engine: a second one
  // would wait for the first one's Web Lock for as long as this worker lives (lock.ts)
  opening ??= ChannelEngine.open({
    db,
    transport: recordingClaims(gatewayTransport(currentClient)),
    orgKeyFor,
    onEvent: (e) => {
      broadcast(e);
      void notify(e);
    },
  })
    .then((opened) => {
      engine = opened;
    })
    .finally(() => {
      opening = null;
    });
  await opening;
}

/** What openEngine found: identity, enrollment and engine (each may still be missing). */
export function engineState(): { identity: Identity | undefined; meta: EnrollmentMeta | undefined; engine: ChannelEngine | null } {
  return { identity, meta, engine };
}

export async function requireEngine(): Promise<ChannelEngine> {
  await openEngine();
  if (!engine) throw new KontorError('unavailable', 'enroll this browser first');
  return engine;
}

/** Where a linked browser is enrolled (its certificate came through linking.ts); the engine opens on the next openEngine. */
export async function setEnrollmentMeta(next: EnrollmentMeta): Promise<void> {
  meta = next;
  await storage.set('channelMeta', meta);
}

/** Stores the certificate and where it was issued; the engine opens on the next openEngine. */
export async function saveEnrollment(
  certificate: Certificate,
  identityCertificate: IdentityCertificate | undefined,
  next: EnrollmentMeta,
): Promise<void> {
  await saveCertificate(await channelDb(), certificate, identityCertificate);
  await setEnrollmentMeta(next);
}
