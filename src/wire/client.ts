/**
 * Typed gateway client for the extension background (and tests): WebCrypto, fetch and
 * WebSocket only. Node 20 has no global WebSocket: pass the `ws` package as `WebSocket`.
 *
 * @example
 * const { certificate, deviceKey } = await enroll({ gatewayUrl, domain, code, mlsSignatureKey, signWithMlsKey });
 * const c = await KontorClient.connect({ gatewayUrl, certificate, deviceKey: deviceKey.privateKey });
 * c.onEvent((e) => e.event === 'inbox' && handle(e.entry));
 * await c.call('send', { conversationId, messageId, kind: 'application', epoch, payload });
 */
import * as v from 'valibot';
import { Certificate, verifyCertificate } from './certificate';
import { generateKeyPair, sign, type Ed25519KeyPair } from './ed25519';
import { fetchJson, MANIFEST_MAX_BYTES } from './fetch';
import { MANIFEST_PATH, verifyManifest, type Manifest, type VerifyManifestOptions } from './manifest';
import { IdentityCertificate, verifyIdentityCertificate, type Signer } from './identity';
import {
  ChallengeFrame,
  ReadyFrame,
  authChallenge,
  enrollTranscript,
  InboxEntrySchema,
  PushEventSchema,
  identityTranscript,
  type MethodName,
  type MethodParams,
  type MethodResults,
  type PushEvent,
} from './protocol';

export class KontorError extends Error {
  override name = 'KontorError';
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type WebSocketCtor = new (url: string) => WebSocket;

async function errorFrom(r: Response): Promise<KontorError> {
  const body = (await r.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  return new KontorError(body?.error?.code ?? `http_${r.status}`, body?.error?.message ?? `HTTP ${r.status}`);
}

/** Fetches and verifies an org manifest from https://<domain>/.well-known/kontor.json (or a given base URL). */
export async function fetchManifest(
  domain: string,
  opts: VerifyManifestOptions & { baseUrl?: string; fetch?: typeof fetch } = {},
): Promise<Manifest> {
  const r = await fetchJson((opts.baseUrl ?? `https://${domain}`) + MANIFEST_PATH, {
    maxBytes: MANIFEST_MAX_BYTES,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  if (r.status !== 200) {
    const e = r.json as { error?: { code?: string; message?: string } } | null;
    throw new KontorError(e?.error?.code ?? `http_${r.status}`, e?.error?.message ?? `HTTP ${r.status}`);
  }
  return verifyManifest(r.json, { ...opts, domain });
}

export interface EnrollOptions {
  gatewayUrl: string;
  /** the org domain; bound into the proof so a code cannot be replayed elsewhere */
  domain: string;
  code: string;
  /** raw Ed25519 MLS signature public key (base64) of this device */
  mlsSignatureKey: string;
  /** signs with the private half of mlsSignatureKey (plain Ed25519), returning base64: the gateway certifies only keys proven held */
  signWithMlsKey: (data: Uint8Array) => Promise<string>;
  /** defaults to a fresh non-extractable key pair */
  deviceKey?: Ed25519KeyPair;
  /** verify the returned certificate against this org key (from the pinned manifest) */
  orgPublicKey?: string;
  fetch?: typeof fetch;
  /** the employee identity key this device created (issue 15): the org certifies it on the first device */
  identity?: { publicKeyB64: string; sign: Signer };
}

export async function enroll(
  o: EnrollOptions,
): Promise<{ certificate: Certificate; deviceKey: Ed25519KeyPair; identity?: IdentityCertificate }> {
  const deviceKey = o.deviceKey ?? (await generateKeyPair(false));
  const t = { domain: o.domain, code: o.code, devicePublicKey: deviceKey.publicKeyB64, mlsSignatureKey: o.mlsSignatureKey };
  const proof = await sign(deviceKey.privateKey, enrollTranscript('device', t));
  const mlsProof = await o.signWithMlsKey(enrollTranscript('mls', t));
  const identityFields = o.identity
    ? {
        identityKey: o.identity.publicKeyB64,
        identityProof: await o.identity.sign(identityTranscript({ ...t, identityKey: o.identity.publicKeyB64 })),
      }
    : {};
  const r = await (o.fetch ?? fetch)(o.gatewayUrl.replace(/\/$/, '') + '/v1/enroll', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      code: o.code,
      devicePublicKey: deviceKey.publicKeyB64,
      mlsSignatureKey: o.mlsSignatureKey,
      proof,
      mlsProof,
      ...identityFields,
    }),
  });
  if (!r.ok) throw await errorFrom(r);
  const body = (await r.json()) as { certificate: unknown; identity?: unknown };
  const certificate = o.orgPublicKey
    ? await verifyCertificate(body.certificate, o.orgPublicKey, { domain: o.domain })
    : v.parse(Certificate, body.certificate);
  if (certificate.devicePublicKey !== deviceKey.publicKeyB64) throw new KontorError('bad_certificate', 'certificate is for another key');
  if (!o.identity) return { certificate, deviceKey };
  const identity = o.orgPublicKey
    ? await verifyIdentityCertificate(body.identity, o.orgPublicKey, { domain: o.domain }).catch((e: unknown) => {
        throw new KontorError('bad_certificate', `identity certificate: ${e instanceof Error ? e.message : String(e)}`);
      })
    : v.parse(IdentityCertificate, body.identity);
  if (identity.identityKey !== o.identity.publicKeyB64 || identity.employeeId !== certificate.employeeId)
    throw new KontorError('bad_certificate', 'identity certificate is for another key or employee');
  return { certificate, deviceKey, identity };
}

export interface ConnectOptions {
  gatewayUrl: string;
  certificate: Certificate;
  /** the device's private Ed25519 key (may be non-extractable) */
  deviceKey: CryptoKey;
  WebSocket?: WebSocketCtor;
  timeoutMs?: number;
}

export class KontorClient {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private listeners = new Set<(e: PushEvent) => void>();
  private closeListeners = new Set<(code: number, reason: string) => void>();
  /** deviceId@domain of this device */
  address = '';

  private constructor(private readonly ws: WebSocket) {}

  static connect(o: ConnectOptions): Promise<KontorClient> {
    const Ctor = o.WebSocket ?? (globalThis.WebSocket as WebSocketCtor | undefined);
    if (!Ctor) throw new KontorError('no_websocket', 'no WebSocket implementation: pass one');
    const url = o.gatewayUrl.replace(/^http/, 'ws').replace(/\/$/, '') + '/v1/ws';
    const ws = new Ctor(url);
    const client = new KontorClient(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new KontorError('timeout', 'authentication timed out'));
        ws.close();
      }, o.timeoutMs ?? 10_000);
      let stage: 'challenge' | 'ready' | 'open' = 'challenge';
      ws.onmessage = async (ev: MessageEvent) => {
        let msg: any;
        try {
          msg = JSON.parse(String(ev.data));
        } catch {
          return;
        }
        if (stage === 'open') return client.onFrame(msg);
        if (msg?.type === 'error') {
          clearTimeout(timer);
          return reject(new KontorError(msg.error?.code ?? 'unauthorized', msg.error?.message ?? 'authentication failed'));
        }
        if (stage === 'challenge' && v.is(ChallengeFrame, msg)) {
          stage = 'ready';
          const signature = await sign(o.deviceKey, authChallenge(msg.domain, msg.nonce, o.certificate.deviceId));
          ws.send(JSON.stringify({ type: 'auth', certificate: o.certificate, signature }));
        } else if (stage === 'ready' && v.is(ReadyFrame, msg)) {
          stage = 'open';
          clearTimeout(timer);
          client.address = msg.address;
          resolve(client);
        }
      };
      ws.onclose = (ev: CloseEvent) => {
        clearTimeout(timer);
        if (stage !== 'open') reject(new KontorError('closed', `connection closed (${ev.code} ${ev.reason})`));
        client.onClosed(ev.code, ev.reason);
      };
      ws.onerror = () => {
        /* onclose follows and reports */
      };
    });
  }

  private onFrame(msg: any): void {
    if (msg && typeof msg.event === 'string') {
      // a malformed push is dropped: its entry stays in the inbox, and fetchInbox drops it too
      const e = v.safeParse(PushEventSchema, msg);
      if (e.success) for (const l of this.listeners) l(e.output);
      return;
    }
    const p = typeof msg?.id === 'number' ? this.pending.get(msg.id) : undefined;
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error) {
      const { code, message, ...details } = msg.error;
      p.reject(new KontorError(String(code), String(message), details));
    } else p.resolve(msg.result);
  }

  private onClosed(code: number, reason: string): void {
    for (const p of this.pending.values()) p.reject(new KontorError('closed', `connection closed (${code})`));
    this.pending.clear();
    for (const l of this.closeListeners) l(code, reason);
  }

  /** Typed RPC. Rejects with KontorError (code e.g. 'epoch_conflict', 'rate_limited', 'closed'). */
  call<M extends MethodName>(method: M, params?: MethodParams<M>): Promise<MethodResults[M]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Push events: new inbox entries (messages and receipts) and revocation. Returns an unsubscribe function. */
  onEvent(l: (e: PushEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  onClose(l: (code: number, reason: string) => void): () => void {
    this.closeListeners.add(l);
    return () => this.closeListeners.delete(l);
  }

  // convenience wrappers
  uploadKeyPackages(keyPackages: string[], lastResort?: string) {
    return this.call('keyPackages.upload', { keyPackages, lastResort });
  }
  claimKeyPackages(domain: string, target: { contact?: string; employee?: string }) {
    return this.call('keyPackages.claim', { domain, ...target });
  }
  createConversation(conversationId: string) {
    return this.call('conversation.create', { conversationId });
  }
  send(p: MethodParams<'send'>) {
    return this.call('send', p);
  }
  /** The waiting entries after `after`; malformed ones are left out (see PushEventSchema). */
  async fetchInbox(after = 0, limit = 100) {
    const r = await this.call('inbox.fetch', { after, limit });
    const entries = Array.isArray(r?.entries) ? r.entries : [];
    return { entries: entries.filter((e) => v.is(InboxEntrySchema, e)) };
  }
  ack(ids: number[]) {
    return this.call('inbox.ack', { ids });
  }

  close(): void {
    this.ws.close();
  }
}
