/**
 * A local web server that stands in for the whole web. Browsers resolve every hostname to
 * it (Chromium: --host-resolver-rules; Firefox: network.dns.forceResolve), so pages and
 * tracker URLs keep their real hostnames. Files come from test/fixtures/sites/<host>/<path>;
 * any other path on any host answers 200 with a tiny body of a fitting type, so a request
 * that was not blocked visibly arrives. Every request is logged: the log is the ground
 * truth for "blocked" (a blocked request never arrives).
 */
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const sitesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/sites');

export interface LoggedRequest {
  host: string;
  path: string;
  query: string;
  url: string;
  method: string;
  referer: string | undefined;
  at: number;
}

export interface SiteServer {
  port: number;
  requests: LoggedRequest[];
  /** Requests whose host equals `host` (and, if given, whose path starts with `pathPrefix`). */
  requestsTo(host: string, pathPrefix?: string): LoggedRequest[];
  clear(): void;
  /** Extra dynamic routes, e.g. a manifest endpoint a test wants to control. */
  route(host: string, pathname: string, handler: (req: IncomingMessage) => { status?: number; type?: string; body: string }): void;
  close(): Promise<void>;
}

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

function fallback(pathname: string): { type: string; body: Buffer | string } {
  const ext = path.extname(pathname).toLowerCase();
  if (ext === '.js') return { type: types['.js']!, body: '/* served by the Kontor test server */' };
  if (ext === '.css') return { type: types['.css']!, body: '/* ok */' };
  if (ext === '.json') return { type: types['.json']!, body: '{}' };
  if (ext === '.html' || ext === '' || pathname.endsWith('/'))
    return { type: types['.html']!, body: '<!doctype html><title>ok</title><p>ok</p>' };
  return { type: 'image/gif', body: GIF };
}

const certDir = path.resolve(sitesDir, '../../../build/test-cert');

/** A self-signed certificate for every test hostname (browsers run with cert checks relaxed). */
export function testCertificate(): { key: Buffer; cert: Buffer } {
  const key = path.join(certDir, 'key.pem');
  const cert = path.join(certDir, 'cert.pem');
  if (!existsSync(cert)) {
    mkdirSync(certDir, { recursive: true });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '30',
        '-subj',
        '/CN=kontor-test',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
  }
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

export interface DualListener {
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:`port` (0: any free port) speaking both plain HTTP and TLS with the
 * test certificate (Chromium's host-resolver rules send both schemes to one port): the first
 * byte of a connection tells a TLS handshake (0x16) from HTTP. `close` also ends the
 * connections browsers keep alive, so it does not hang.
 */
export async function listenDual(handler: RequestListener, port = 0): Promise<DualListener> {
  const http = createServer({ keepAlive: true }, handler);
  const https = createHttpsServer(testCertificate(), handler);
  const sockets = new Set<Socket>();
  const front = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (first) => {
      socket.pause();
      socket.unshift(first);
      (first[0] === 0x16 ? https : http).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(port, '127.0.0.1', () => resolve());
  });
  const address = front.address();
  if (!address || typeof address === 'string') throw new Error('listener has no port');
  return {
    port: address.port,
    close: () => {
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      return closed;
    },
  };
}

export async function startSiteServer(options: { port?: number; extraPorts?: number[] } = {}): Promise<SiteServer> {
  const requests: LoggedRequest[] = [];
  const routes = new Map<string, (req: IncomingMessage) => { status?: number; type?: string; body: string }>();
  const handler: RequestListener = (req, res) => {
    const host = (req.headers.host ?? 'unknown').replace(/:\d+$/, '').toLowerCase();
    const url = new URL(req.url ?? '/', `http://${host}`);
    requests.push({
      host,
      path: url.pathname,
      query: url.search,
      url: `http://${host}${url.pathname}${url.search}`,
      method: req.method ?? 'GET',
      referer: req.headers.referer,
      at: Date.now(),
    });
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Access-Control-Allow-Origin', '*');
    const custom = routes.get(`${host}${url.pathname}`);
    if (custom) {
      const r = custom(req);
      res.writeHead(r.status ?? 200, { 'Content-Type': r.type ?? 'application/json' });
      res.end(r.body);
      return;
    }
    if (url.pathname === '/__probe.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(readFileSync(path.join(sitesDir, '../probe.js')));
      return;
    }
    let file = path.join(sitesDir, host, decodeURIComponent(url.pathname));
    if (!file.startsWith(path.join(sitesDir, host))) {
      res.writeHead(400).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (existsSync(file) && statSync(file).isFile()) {
      res.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
      return;
    }
    const f = fallback(url.pathname);
    res.writeHead(200, { 'Content-Type': f.type });
    res.end(f.body);
  };
  const server = await listenDual(handler, options.port ?? 0);
  const extra = await Promise.all((options.extraPorts ?? []).map((port) => listenDual(handler, port)));
  return {
    port: server.port,
    requests,
    requestsTo: (host, pathPrefix) => requests.filter((r) => r.host === host && (!pathPrefix || r.path.startsWith(pathPrefix))),
    clear: () => void requests.splice(0),
    route: (host, pathname, handler) => void routes.set(`${host}${pathname}`, handler),
    close: async () => {
      await Promise.all([server, ...extra].map((l) => l.close()));
    },
  };
}
