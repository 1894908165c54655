/**
 * Gateway-to-gateway HTTP. Every request is signed by the sending org key over method, path,
 * both domains, a timestamp, a nonce and the body digest; the receiver checks it against the
 * sender's manifest fetched from the sender's own domain, and admits only partners.
 *
 * Inbound, the cheap checks come first and cost nothing but the headers: header shapes, the
 * peer's name, the clock window, admission under the allowlist policy, and the source
 * address's budget of failed attempts. Only then is the body read (capped), and only then can
 * a manifest be fetched. The peer's rate bucket is charged once its signature verified, so
 * forgeries naming a partner cannot use up the partner's budget.
 */
import * as v from 'valibot';
import { FED_HEADER, federationSigningString } from '../wire/protocol';
import { fetchJson, FEDERATION_REPLY_MAX_BYTES } from '../wire/fetch';
import { randomBytes, toBase64Url } from '../wire/bytes';
import { digestB64, signB64, verifyB64 } from './fed-crypto';
import { ApiError } from './errors';
import { PeerDirectory } from './peers';
import type { Gateway } from './context';
import type { NonceUse, Partner } from './store/types';

const CLOCK_WINDOW_MS = 5 * 60_000;
const TIMEOUT_MS = 10_000;

/** What the headers said, checked; the body and the signature are still to be checked. */
export interface PendingRequest {
  from: string;
  ts: string;
  nonce: string;
  digest: string;
  signature: string;
  method: string;
  path: string;
  source: string;
  partner: Partner | null;
}

/** A verified request of an admitted peer; its nonce is still to be recorded (Federation.useNonce or Store.storeFromPeer). */
export interface Authenticated {
  peer: string;
  nonce: NonceUse;
}

export class Federation {
  readonly peers: PeerDirectory;

  constructor(private readonly gw: Gateway) {
    this.peers = new PeerDirectory(gw);
  }

  manifest(domain: string, fresh = false) {
    return this.peers.manifest(domain, fresh);
  }

  /** POST a signed JSON request to a partner gateway; returns status and the parsed (capped) JSON answer. */
  async request(peer: string, path: string, payload: unknown): Promise<{ status: number; json: unknown }> {
    const t0 = performance.now();
    const partner = await this.gw.store.getPartner(peer);
    if (partner?.status !== 'admitted') throw new ApiError('forbidden', `${peer} is not an admitted partner`);
    const m = await this.manifest(peer);
    const body = JSON.stringify(payload);
    const h = {
      from: this.gw.config.domain,
      to: peer,
      method: 'POST',
      path,
      timestamp: String(Date.now()),
      nonce: toBase64Url(randomBytes(16)),
      digest: await digestB64(new TextEncoder().encode(body)),
    };
    const signature = signB64(this.gw.orgKey.privateKey, federationSigningString(h));
    const url = m.gatewayUrl + path;
    try {
      const r = await fetchJson(url, {
        maxBytes: FEDERATION_REPLY_MAX_BYTES,
        timeoutMs: TIMEOUT_MS,
        fetch: this.peers.fetcherFor(peer, url),
        init: {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            [FED_HEADER.from]: h.from,
            [FED_HEADER.timestamp]: h.timestamp,
            [FED_HEADER.nonce]: h.nonce,
            [FED_HEADER.digest]: h.digest,
            [FED_HEADER.signature]: signature,
          },
        },
      });
      this.gw.count.federation({ direction: 'out', result: String(r.status) });
      this.gw.time.federationOut((performance.now() - t0) / 1000, { path });
      return r;
    } catch (e) {
      this.gw.count.federation({ direction: 'out', result: 'network_error' });
      if (e instanceof ApiError) throw e;
      throw new ApiError('unavailable', `partner ${peer} unreachable: ${(e as Error).message}`);
    }
  }

  /**
   * The checks that need only the headers. Throws before the body is read; every refusal
   * counts against the source address's budget of failures.
   */
  async precheck(
    headers: Record<string, string | string[] | undefined>,
    method: string,
    path: string,
    source: string,
  ): Promise<PendingRequest> {
    if (this.gw.limits.fedFailures.peek(source) < 1)
      throw new ApiError('rate_limited', 'too many failed federation requests from this address');
    return this.charging(source, async () => {
      const hv = (n: string) => {
        const x = headers[n];
        return typeof x === 'string' ? x : undefined;
      };
      const from = hv(FED_HEADER.from),
        ts = hv(FED_HEADER.timestamp),
        nonce = hv(FED_HEADER.nonce);
      const digest = hv(FED_HEADER.digest),
        signature = hv(FED_HEADER.signature);
      if (!from || !ts || !nonce || !digest || !signature) throw new ApiError('unauthorized', 'missing federation signature headers');
      if (from.length > 253 || !this.peers.acceptableName(from))
        throw new ApiError('unauthorized', 'bad kontor-from: not a public DNS name');
      if (!/^\d{1,16}$/.test(ts) || Math.abs(Date.now() - Number(ts)) > CLOCK_WINDOW_MS)
        throw new ApiError('unauthorized', 'timestamp outside the 5 minute window');
      if (!/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) throw new ApiError('unauthorized', 'bad nonce');
      if (!/^[A-Za-z0-9+/]{43}=$/.test(digest)) throw new ApiError('unauthorized', 'bad digest');
      if (signature.length > 96) throw new ApiError('unauthorized', 'bad signature');
      const partner = await this.gw.store.getPartner(from);
      if (partner?.status !== 'admitted' && this.gw.config.federation === 'allowlist') {
        throw new ApiError('forbidden', `${from} is not an admitted partner`);
      }
      return { from, ts, nonce, digest, signature, method, path, source, partner };
    });
  }

  /**
   * Checks body digest, signature and the peer's admission; returns the verified, admitted
   * peer and the nonce the caller must record before (or in the same commit as) the request's
   * effect.
   */
  async authenticate(p: PendingRequest, body: Uint8Array): Promise<Authenticated> {
    const { from, partner } = p;
    await this.charging(p.source, async () => {
      if ((await digestB64(body)) !== p.digest) throw new ApiError('unauthorized', 'body digest mismatch');
      const signed = federationSigningString({
        method: p.method,
        path: p.path,
        from,
        to: this.gw.config.domain,
        timestamp: p.ts,
        nonce: p.nonce,
        digest: p.digest,
      });
      let m = await this.manifest(from);
      if (!verifyB64(m.orgPublicKey, p.signature, signed)) {
        // the peer may have rotated its key: refetch (at most once per interval) before refusing
        m = await this.manifest(from, true);
        if (!verifyB64(m.orgPublicKey, p.signature, signed)) throw new ApiError('unauthorized', 'federation signature does not verify');
      }
    });
    if (!(await this.gw.limits.peer.take(`peer:${from}`))) throw new ApiError('rate_limited', 'too many requests from this peer');
    // kept on disk until the timestamp leaves the window: a replay after a restart is refused too
    const nonce = { key: `${from}/${p.nonce}`, expiresAt: Number(p.ts) + CLOCK_WINDOW_MS + 1_000 };
    if (partner?.status !== 'admitted') {
      await this.useNonce(p, nonce);
      if (!partner) {
        await this.gw.store.setPartner(from, 'pending', null);
        this.gw.log.warn('federation peer queued for approval', { peer: from });
      }
      throw new ApiError('forbidden', `${from} awaits approval by this gateway's admin`);
    }
    return { peer: from, nonce };
  }

  /** Records the request's nonce durably; a request seen before is refused. */
  async useNonce(p: PendingRequest, nonce: NonceUse): Promise<void> {
    if (!(await this.gw.store.useNonce(nonce.key, nonce.expiresAt, Date.now()))) this.replayed(p);
  }

  /** Refuses a request whose nonce was recorded before, charging its source's budget of failures. */
  replayed(p: PendingRequest): never {
    this.gw.limits.fedFailures.take(p.source);
    throw new ApiError('unauthorized', 'replayed request');
  }

  private async charging<T>(source: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof ApiError && (e.code === 'unauthorized' || e.code === 'forbidden')) this.gw.limits.fedFailures.take(source);
      throw e;
    }
  }
}

/** A peer's answer checked against its schema, or an 'unavailable' error naming the peer. */
export function parseReply<S extends v.GenericSchema>(schema: S, json: unknown, peer: string): v.InferOutput<S> {
  const r = v.safeParse(schema, json);
  if (!r.success)
    throw new ApiError(
      'unavailable',
      `${peer} answered with a malformed body: ${v.getDotPath(r.issues[0]) ?? ''} ${r.issues[0].message}`.trim(),
    );
  return r.output;
}
