/**
 * A partner gateway as a hostile or broken one would be: a real HTTP server on loopback with
 * a real org key, publishing a signed manifest and answering federation requests however a
 * test says. Also signs raw federation requests, as a peer (or a forger) would.
 *
 * @example
 * const evil = await fakePeer('evil.example');
 * gw.setPeers({ 'evil.example': evil.url });
 * evil.on('/v1/fed/claim', (req, res) => streamBytes(res, 150e6));
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { generateKeyPair, sign } from '../../src/wire/ed25519';
import { MANIFEST_PATH, signManifest, type Manifest } from '../../src/wire/manifest';
import { FED_HEADER, federationSigningString } from '../../src/wire/protocol';
import { randomBytes, sha256, toBase64, toBase64Url } from '../../src/wire/bytes';
import type { GatewayHandle } from './helpers';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FakePeer {
  domain: string;
  url: string;
  key: CryptoKey;
  /** GETs of the manifest so far */
  manifestFetches: number;
  /** requests to any other path so far */
  hits: string[];
  /** the manifest it serves; `gatewayUrl` defaults to its own URL */
  manifest(overrides?: Partial<Manifest>): Promise<Manifest>;
  on(path: string, h: Handler): void;
  close(): Promise<void>;
}

export async function fakePeer(domain: string, o: { manifest?: Partial<Manifest> } = {}): Promise<FakePeer> {
  const key = await generateKeyPair();
  const routes = new Map<string, Handler>();
  const p = { domain, key: key.privateKey, manifestFetches: 0, hits: [] as string[] } as FakePeer;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== MANIFEST_PATH) p.hits.push(path);
    else p.manifestFetches++;
    const h = routes.get(path);
    if (h) return h(req, res);
    req.resume();
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no"}}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  p.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  p.manifest = async (overrides = {}) => {
    const now = Date.now();
    return signManifest(
      {
        type: 'kontor.manifest',
        version: 1,
        orgName: domain,
        domain,
        gatewayUrl: p.url,
        orgPublicKey: key.publicKeyB64,
        contacts: [{ id: 'sales', name: 'Sales' }],
        profiles: [],
        issuedAt: new Date(now - 60_000).toISOString(),
        expiresAt: new Date(now + 86_400_000).toISOString(),
        ...o.manifest,
        ...overrides,
      },
      key.privateKey,
    );
  };
  const published = JSON.stringify(await p.manifest());
  routes.set(MANIFEST_PATH, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(published));
  p.on = (path, h) => void routes.set(path, h);
  p.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return p;
}

/**
 * Answers with `total` bytes of JSON-looking filler, written as the reader takes them (the
 * test process never holds more than a chunk); resolves with how many bytes went out before
 * the reader stopped reading.
 */
export function streamBytes(res: ServerResponse, total: number, o: { declareLength?: boolean } = {}): Promise<number> {
  res.writeHead(200, { 'content-type': 'application/json', ...(o.declareLength ? { 'content-length': String(total) } : {}) });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  return new Promise((resolve) => {
    const done = () => resolve(sent);
    res.once('close', done);
    const pump = () => {
      while (sent < total && !res.destroyed) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  });
}

// ---- signing raw federation requests ----------------------------------------------------
export type Signer = GatewayHandle | { domain: string; key: CryptoKey };
const keys = new Map<string, CryptoKey>();
async function keyOf(from: Signer): Promise<CryptoKey> {
  if ('key' in from) return from.key;
  if (!keys.has(from.dataDir)) {
    const jwk = JSON.parse(readFileSync(`${from.dataDir}/org-key.jwk.json`, 'utf8'));
    keys.set(from.dataDir, await crypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['sign']));
  }
  return keys.get(from.dataDir)!;
}

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

export async function buildSigned(from: Signer, to: string, path: string, payload: unknown): Promise<SignedRequest> {
  const body = JSON.stringify(payload);
  const h = {
    method: 'POST',
    path,
    from: from.domain,
    to,
    timestamp: String(Date.now()),
    nonce: toBase64Url(randomBytes(16)),
    digest: toBase64(await sha256(new TextEncoder().encode(body))),
  };
  const signature = await sign(await keyOf(from), federationSigningString(h));
  return {
    body,
    headers: {
      'content-type': 'application/json',
      [FED_HEADER.from]: h.from,
      [FED_HEADER.timestamp]: h.timestamp,
      [FED_HEADER.nonce]: h.nonce,
      [FED_HEADER.digest]: h.digest,
      [FED_HEADER.signature]: signature,
    },
  };
}

/**
 * POSTs with node:http, optionally from another loopback source address (127.0.0.2...), so a
 * test can play an attacker at one address and a partner at another.
 */
/** the parsed answer; tests read `body.error` of refusals (null if the answer was not JSON) */
export interface Answer {
  status: number;
  body: { error: { code: string; message: string } };
}

export function post(url: string, r: SignedRequest, localAddress?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) }, localAddress, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          let body: unknown = null;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body: body as Answer['body'] });
        });
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

/** Resident set size of a process in MB (Linux). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
