/**
 * Where peers live and what they publish: the development mapping, manifest fetching and
 * caching, and the rules for the addresses a peer may make this gateway connect to.
 *
 * A peer outside the operator's development mapping (`--resolve`, `--resolve-file`) must be
 * named by a public DNS name, is reached over https, and only on public addresses
 * (netguard.ts); its manifest's gatewayUrl obeys the same rules. A mapped peer is reached
 * where the operator said, and its gatewayUrl may only point there too.
 */
import { readFileSync, statSync } from 'node:fs';
import { fingerprint, verifyManifest, MANIFEST_PATH, type Manifest } from '../wire/manifest';
import { fetchJson, MANIFEST_MAX_BYTES } from '../wire/fetch';
import { isPeerName } from '../wire/federation';
import { ApiError } from './errors';
import { BoundedMap } from './bounded';
import { mappedFetch, publicFetch } from './netguard';
import type { Gateway } from './context';

const MANIFEST_TTL_MS = 5 * 60_000;
/** a peer's manifest is fetched at most once per this interval, whatever anyone sends */
export const REFETCH_MIN_MS = 60_000;
/** a failed fetch is not retried sooner: long enough to stop a storm, short enough for a restarted peer */
const FAILED_RETRY_MS = 5_000;
const TIMEOUT_MS = 10_000;

type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

export class PeerDirectory {
  private cache = new BoundedMap<string, { at: number; m: Manifest }>(1_000);
  /** when each peer's manifest was last fetched, and the error if that fetch failed */
  private fetched = new BoundedMap<string, { at: number; error: ApiError | null }>(10_000);
  private inflight = new Map<string, Promise<Manifest>>();
  private resolveFileCache: { mtime: number; map: Record<string, string> } | null = null;

  constructor(private readonly gw: Gateway) {}

  /** The development mapping's base URL for a domain, if the operator mapped it. */
  mapped(domain: string): string | undefined {
    return this.gw.config.resolve.get(domain) ?? this.resolveFromFile(domain);
  }

  /** A name this gateway will talk to: a public DNS name, or one the operator mapped. */
  acceptableName(domain: string): boolean {
    return domain !== this.gw.config.domain && (isPeerName(domain) || this.mapped(domain) !== undefined);
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

  /**
   * The fetch to use for a URL of a peer's: the plain one for where the operator mapped it,
   * else one that connects to public addresses only. Throws if the URL breaks the rules.
   */
  fetcherFor(domain: string, url: string): Fetcher {
    const mapped = this.mapped(domain);
    const u = new URL(url);
    if (mapped !== undefined && u.origin === new URL(mapped).origin) {
      if (u.protocol !== 'https:' && !this.gw.config.insecureDev) {
        throw new ApiError('forbidden', 'federation requires https (use --insecure-dev only for local tests)');
      }
      return mappedFetch;
    }
    if (u.protocol !== 'https:' || u.username || u.password || !isPeerName(u.hostname)) {
      throw new ApiError('forbidden', `${domain}: ${u.origin} is not an https URL on a public DNS name`);
    }
    return publicFetch;
  }

  /**
   * The peer's verified manifest. `fresh` asks for a refetch (the peer may have rotated its
   * key), granted at most once per REFETCH_MIN_MS; a failed fetch is remembered as long.
   */
  async manifest(domain: string, fresh = false): Promise<Manifest> {
    const now = Date.now();
    const c = this.cache.get(domain);
    const last = this.fetched.get(domain);
    const recentOk = last !== undefined && last.error === null && now - last.at < REFETCH_MIN_MS;
    if (c && (recentOk || (!fresh && now - c.at < MANIFEST_TTL_MS))) return c.m;
    if (last?.error && now - last.at < FAILED_RETRY_MS) {
      if (c) return c.m;
      throw last.error;
    }
    let p = this.inflight.get(domain);
    if (!p) {
      p = this.fetchManifest(domain).finally(() => this.inflight.delete(domain));
      this.inflight.set(domain, p);
    }
    return p;
  }

  private async fetchManifest(domain: string): Promise<Manifest> {
    try {
      const m = await this.load(domain);
      this.cache.set(domain, { at: Date.now(), m });
      this.fetched.set(domain, { at: Date.now(), error: null });
      return m;
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError('unavailable', `cannot fetch manifest of ${domain}`);
      this.fetched.set(domain, { at: Date.now(), error: err });
      throw err;
    }
  }

  private async load(domain: string): Promise<Manifest> {
    if (!this.acceptableName(domain)) throw new ApiError('forbidden', `${domain} is not a public DNS name`);
    const url = (this.mapped(domain) ?? `https://${domain}`) + MANIFEST_PATH;
    const fetcher = this.fetcherFor(domain, url);
    let body: unknown;
    try {
      const r = await fetchJson(url, {
        maxBytes: MANIFEST_MAX_BYTES,
        timeoutMs: TIMEOUT_MS,
        fetch: fetcher,
        init: { headers: { accept: 'application/json' } },
      });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      body = r.json;
    } catch (e) {
      throw new ApiError('unavailable', `cannot fetch manifest of ${domain}: ${(e as Error).message}`);
    }
    let m: Manifest;
    try {
      m = await verifyManifest(body, { domain });
    } catch (e) {
      throw new ApiError('forbidden', `manifest of ${domain} rejected: ${(e as Error).message}`);
    }
    this.fetcherFor(domain, m.gatewayUrl); // throws if the gatewayUrl breaks the rules
    const partner = await this.gw.store.getPartner(domain);
    if (partner?.fingerprint && (await fingerprint(m.orgPublicKey)) !== partner.fingerprint) {
      throw new ApiError('forbidden', `org key of ${domain} does not match the pinned fingerprint`);
    }
    return m;
  }
}
