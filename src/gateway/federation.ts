/**
 * Gateway-to-gateway HTTP. Every request is signed by the sending org key over method, path,
 * both domains, a timestamp, a nonce and the body digest; the receiver checks it against the
 * sender's manifest fetched from the sender's own domain, and admits only partners.
 */
import { readFileSync, statSync } from 'node:fs';
import { fingerprint, verifyManifest, MANIFEST_PATH, type Manifest } from '../wire/manifest';
import { FED_HEADER, federationSigningString } from '../wire/protocol';
import { sign, verify } from '../wire/ed25519';
import { randomBytes, sha256, toBase64, toBase64Url } from '../wire/bytes';
import { ApiError } from './errors';
import type { Gateway } from './context';

const CLOCK_WINDOW_MS = 5 * 60_000;
const MANIFEST_TTL_MS = 5 * 60_000;
const TIMEOUT_MS = 10_000;

export class Federation {
  private manifests = new Map<string, { at: number; m: Manifest }>();
  private nonces = new Map<string, number>();
  private resolveFileCache: { mtime: number; map: Record<string, string> } | null = null;

  constructor(private readonly gw: Gateway) {
    setInterval(() => this.pruneNonces(), 60_000).unref();
  }

  /** Base URL where a domain publishes its manifest: https://<domain> unless mapped for development. */
  baseUrl(domain: string): string {
    const mapped = this.gw.config.resolve.get(domain) ?? this.resolveFromFile(domain);
    return mapped ?? `https://${domain}`;
  }

  private resolveFromFile(domain: string): string | undefined {
    const file = this.gw.config.resolveFile;
    if (!file) return undefined;
    try {
      const mtime = statSync(file).mtimeMs;
      if (!this.resolveFileCache || this.resolveFileCache.mtime !== mtime) {
        this.resolveFileCache = { mtime, map: JSON.parse(readFileSync(file, 'utf8')) };
      }
      const u = this.resolveFileCache.map[domain];
      return typeof u === 'string' ? u.replace(/\/$/, '') : undefined;
    } catch {
      return undefined;
    }
  }

  private checkScheme(url: string): void {
    if (!url.startsWith('https://') && !this.gw.config.insecureDev) {
      throw new ApiError('forbidden', 'federation requires https (use --insecure-dev only for local tests)');
    }
  }

  async manifest(domain: string, fresh = false): Promise<Manifest> {
    const c = this.manifests.get(domain);
    if (!fresh && c && Date.now() - c.at < MANIFEST_TTL_MS) return c.m;
    const base = this.baseUrl(domain);
    this.checkScheme(base);
    let body: unknown;
    try {
      const r = await fetch(base + MANIFEST_PATH, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      body = await r.json();
    } catch (e) {
      throw new ApiError('unavailable', `cannot fetch manifest of ${domain}: ${(e as Error).message}`);
    }
    let m: Manifest;
    try {
      m = await verifyManifest(body, { domain });
    } catch (e) {
      throw new ApiError('forbidden', `manifest of ${domain} rejected: ${(e as Error).message}`);
    }
    this.checkScheme(m.gatewayUrl);
    const partner = await this.gw.store.getPartner(domain);
    if (partner?.fingerprint && (await fingerprint(m.orgPublicKey)) !== partner.fingerprint) {
      throw new ApiError('forbidden', `org key of ${domain} does not match the pinned fingerprint`);
    }
    this.manifests.set(domain, { at: Date.now(), m });
    return m;
  }

  /** POST a signed JSON request to a partner gateway; returns status and parsed JSON. */
  async request(peer: string, path: string, payload: unknown): Promise<{ status: number; json: any }> {
    const partner = await this.gw.store.getPartner(peer);
    if (partner?.status !== 'admitted') throw new ApiError('forbidden', `${peer} is not an admitted partner`);
    const m = await this.manifest(peer);
    const body = JSON.stringify(payload);
    const bytes = new TextEncoder().encode(body);
    const h = {
      from: this.gw.config.domain, to: peer, method: 'POST', path,
      timestamp: String(Date.now()), nonce: toBase64Url(randomBytes(16)), digest: toBase64(await sha256(bytes)),
    };
    const signature = await sign(this.gw.orgKey.privateKey, federationSigningString(h));
    let r: Response;
    try {
      r = await fetch(m.gatewayUrl + path, {
        method: 'POST', body, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: {
          'content-type': 'application/json', [FED_HEADER.from]: h.from, [FED_HEADER.timestamp]: h.timestamp,
          [FED_HEADER.nonce]: h.nonce, [FED_HEADER.digest]: h.digest, [FED_HEADER.signature]: signature,
        },
      });
    } catch (e) {
      this.gw.count.federation({ direction: 'out', result: 'network_error' });
      throw new ApiError('unavailable', `partner ${peer} unreachable: ${(e as Error).message}`);
    }
    const json = await r.json().catch(() => null);
    this.gw.count.federation({ direction: 'out', result: String(r.status) });
    return { status: r.status, json };
  }

  /** Authenticates an inbound federation request; returns the verified peer domain. */
  async authenticate(headers: Record<string, string | string[] | undefined>, method: string, path: string, body: Buffer): Promise<string> {
    const hv = (n: string) => { const x = headers[n]; return typeof x === 'string' ? x : undefined; };
    const from = hv(FED_HEADER.from), ts = hv(FED_HEADER.timestamp), nonce = hv(FED_HEADER.nonce);
    const digest = hv(FED_HEADER.digest), signature = hv(FED_HEADER.signature);
    if (!from || !ts || !nonce || !digest || !signature) throw new ApiError('unauthorized', 'missing federation signature headers');
    if (!/^[a-z0-9.-]{1,253}$/.test(from) || from === this.gw.config.domain) throw new ApiError('unauthorized', 'bad kontor-from');
    if (!/^\d{1,16}$/.test(ts) || Math.abs(Date.now() - Number(ts)) > CLOCK_WINDOW_MS) throw new ApiError('unauthorized', 'timestamp outside the 5 minute window');
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) throw new ApiError('unauthorized', 'bad nonce');
    if (toBase64(await sha256(body)) !== digest) throw new ApiError('unauthorized', 'body digest mismatch');
    if (!this.gw.limits.peer.take(`peer:${from}`)) throw new ApiError('rate_limited', 'too many requests from this peer');
    const partner = await this.gw.store.getPartner(from);
    if (partner?.status !== 'admitted' && this.gw.config.federation === 'allowlist') {
      throw new ApiError('forbidden', `${from} is not an admitted partner`);
    }
    const signed = federationSigningString({ method, path, from, to: this.gw.config.domain, timestamp: ts, nonce, digest });
    let m = await this.manifest(from);
    if (!(await verify(m.orgPublicKey, signature, signed))) {
      // the peer may have rotated its key: refetch once before refusing
      m = await this.manifest(from, true);
      if (!(await verify(m.orgPublicKey, signature, signed))) throw new ApiError('unauthorized', 'federation signature does not verify');
    }
    if (this.nonces.has(`${from}/${nonce}`)) throw new ApiError('unauthorized', 'replayed request');
    this.nonces.set(`${from}/${nonce}`, Date.now() + 2 * CLOCK_WINDOW_MS);
    if (partner?.status !== 'admitted') {
      if (!partner) {
        await this.gw.store.setPartner(from, 'pending', null);
        this.gw.log.warn('federation peer queued for approval', { peer: from });
      }
      throw new ApiError('forbidden', `${from} awaits approval by this gateway's admin`);
    }
    return from;
  }

  private pruneNonces(): void {
    const now = Date.now();
    for (const [k, exp] of this.nonces) if (exp < now) this.nonces.delete(k);
  }
}
