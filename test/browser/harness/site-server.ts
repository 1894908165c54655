/**
 * A local web server that stands in for the whole web. Browsers resolve every hostname to
 * it (Chromium: --host-resolver-rules; Firefox: network.dns.forceResolve), so pages and
 * tracker URLs keep their real hostnames. Files come from test/fixtures/sites/<host>/<path>;
 * any other path on any host answers 200 with a tiny body of a fitting type, so a request
 * that was not blocked visibly arrives. Every request is logged: the log is the ground
 * truth for "blocked" (a blocked request never arrives).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const sitesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/sites');

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
  if (ext === '.html' || ext === '' || pathname.endsWith('/')) return { type: types['.html']!, body: '<!doctype html><title>ok</title><p>ok</p>' };
  return { type: 'image/gif', body: GIF };
}

export async function startSiteServer(options: { port?: number } = {}): Promise<SiteServer> {
  const requests: LoggedRequest[] = [];
  const routes = new Map<string, (req: IncomingMessage) => { status?: number; type?: string; body: string }>();
  const server: Server = createServer((req, res) => {
    const host = (req.headers.host ?? 'unknown').replace(/:\d+$/, '').toLowerCase();
    const url = new URL(req.url ?? '/', `http://${host}`);
    requests.push({ host, path: url.pathname, query: url.search, url: `http://${host}${url.pathname}${url.search}`, method: req.method ?? 'GET', referer: req.headers.referer, at: Date.now() });
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Access-Control-Allow-Origin', '*');
    const custom = routes.get(`${host}${url.pathname}`);
    if (custom) {
      const r = custom(req);
      res.writeHead(r.status ?? 200, { 'Content-Type': r.type ?? 'application/json' });
      res.end(r.body);
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
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('site server has no port');
  return {
    port: address.port,
    requests,
    requestsTo: (host, pathPrefix) => requests.filter((r) => r.host === host && (!pathPrefix || r.path.startsWith(pathPrefix))),
    clear: () => void requests.splice(0),
    route: (host, pathname, handler) => void routes.set(`${host}${pathname}`, handler),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
