/** HTTP routes: health, manifest, enrollment, federation (metrics have their own listener, server.ts). Every error is JSON `{error:{code,message}}`. */
import * as v from 'valibot';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FedClaim, FedDeliver, FedRevocations, FedSubmit, FED_BODY_MAX_BYTES } from '../wire/federation';
import { MANIFEST_PATH } from '../wire/manifest';
import { ApiError, toApiError } from './errors';
import { currentManifest } from './manifest';
import { redeem } from './enroll';
import { acceptFromPeer, submitAsHub } from './delivery';
import { claimLocal } from './rpc';
import { revocationsOf } from './revocations';
import { clientAddress } from './client-address';
import type { Gateway } from './context';
import type { Federation } from './federation';
import type { OutboxItem } from './store/types';
import { LINK, LinkOpenRequest, LinkPostRequest, LinkReadRequest } from '../wire/link';
import { partyB, validLink } from './link';

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new ApiError('too_large', `body over ${limit} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        // stop reading; the answer goes out with connection: close (see the error handler)
        req.removeAllListeners('data');
        req.pause();
        reject(new ApiError('too_large', `body over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ApiError('bad_request', 'body is not JSON');
  }
}

function validate<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const r = v.safeParse(schema, input);
  if (!r.success) {
    const i = r.issues[0];
    throw new ApiError('bad_request', `invalid request: ${i ? `${v.getDotPath(i) ?? ''} ${i.message}` : ''}`.trim());
  }
  return r.output;
}

export function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) : String(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

const FED_PATHS = new Set(['/v1/fed/deliver', '/v1/fed/submit', '/v1/fed/claim', '/v1/fed/revocations']);
const LINK_PATHS = new Set(['/v1/link/open', '/v1/link/send', '/v1/link/read']);

export function makeHandler(gw: Gateway, fed: Federation) {
  const route = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<number> => {
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/healthz') {
      send(res, 200, { ok: true, domain: gw.config.domain });
      return 200;
    }
    if (method === 'GET' && path === '/readyz') {
      // for the load balancer: 503 takes this instance out of rotation while its database (or bus) is away
      const r = await gw.ready();
      send(res, r.ok ? 200 : 503, r);
      return r.ok ? 200 : 503;
    }
    if (method === 'GET' && path === MANIFEST_PATH) {
      res.setHeader('access-control-allow-origin', '*');
      send(res, 200, await currentManifest(gw));
      return 200;
    }
    if (method === 'POST' && path === '/v1/enroll') {
      const body = parseJson(await readBody(req, 16 * 1024));
      send(res, 200, await redeem(gw, body, clientAddress(req, gw.config.trustProxy)));
      return 200;
    }
    if (method === 'POST' && LINK_PATHS.has(path)) {
      // B has no certificate: small bodies, limits per address (link.ts)
      const client = clientAddress(req, gw.config.trustProxy);
      const body = parseJson(await readBody(req, LINK.unauthenticatedBodyBytes));
      let result: unknown;
      if (path === '/v1/link/open') {
        const r = validLink(LinkOpenRequest, body);
        result = await gw.links.open(r.locator, r.commitment, client);
      } else if (path === '/v1/link/send') {
        const r = validLink(LinkPostRequest, body);
        result = await gw.links.post(r.sessionId, partyB(client), r.body);
      } else {
        const r = validLink(LinkReadRequest, body);
        result = await gw.links.read(r.sessionId, partyB(client), r.after);
      }
      send(res, 200, result);
      return 200;
    }
    if (method === 'POST' && path.startsWith('/v1/fed/')) {
      if (!FED_PATHS.has(path)) throw new ApiError('not_found', 'no such federation endpoint');
      const t0 = performance.now();
      // headers, clock and admission first: nothing is read or fetched for a request that fails them
      const pending = await fed.precheck(req.headers, method, path, clientAddress(req, gw.config.trustProxy));
      const raw = await readBody(req, FED_BODY_MAX_BYTES);
      const { peer, nonce } = await fed.authenticate(pending, raw);
      const body = parseJson(raw);
      let result: unknown;
      if (path === '/v1/fed/deliver') {
        // the nonce is recorded in the commit that stores the batch: one fsync on every
        // federated message's path, not two
        result = (await acceptFromPeer(gw, peer, validate(FedDeliver, body).items as OutboxItem[], nonce)) ?? fed.replayed(pending);
      } else {
        await fed.useNonce(pending, nonce);
        if (path === '/v1/fed/submit') {
          const { sender, params } = validate(FedSubmit, body);
          // a peer submits only for its own devices, and only to conversations hosted here
          if (!sender.endsWith('@' + peer)) throw new ApiError('forbidden', `${peer} cannot submit for ${sender}`);
          if (params.hub !== undefined && params.hub !== gw.config.domain) throw new ApiError('bad_request', 'this gateway is not the hub');
          result = await submitAsHub(gw, sender, params);
        } else if (path === '/v1/fed/claim') result = { devices: await claimLocal(gw, validate(FedClaim, body)) };
        else if (path === '/v1/fed/revocations') result = { revocations: await revocationsOf(gw, validate(FedRevocations, body).devices) };
        else throw new ApiError('not_found', 'no such federation endpoint');
      }
      send(res, 200, result);
      gw.time.federationIn((performance.now() - t0) / 1000, { path });
      return 200;
    }
    throw new ApiError('not_found', `no route for ${method} ${path}`);
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    let path = '/';
    try {
      path = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      /* answered as not found below */
    }
    route(req, res, path).then(
      (status) => gw.count.http({ route: routeLabel(path), status: String(status) }),
      (e: unknown) => {
        const known = toApiError(e);
        const err = known ?? new ApiError('internal', 'internal error');
        if (!known) gw.log.error('request failed', { path: routeLabel(path), error: (e as Error).message });
        gw.count.http({ route: routeLabel(path), status: String(err.status) });
        // refused before its body was read: close the connection rather than read the rest
        if (!req.complete) res.setHeader('connection', 'close');
        if (!res.headersSent) send(res, err.status, err.toJSON());
        else res.destroy();
      },
    );
  };
}

/** Bounded label values: unknown paths collapse into one series. */
function routeLabel(path: string): string {
  return [
    '/healthz',
    '/readyz',
    MANIFEST_PATH,
    '/v1/enroll',
    '/v1/fed/deliver',
    '/v1/fed/submit',
    '/v1/fed/claim',
    '/v1/fed/revocations',
    ...LINK_PATHS,
    '/v1/ws',
  ].includes(path)
    ? path
    : 'other';
}
