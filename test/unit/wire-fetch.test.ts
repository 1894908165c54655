/** The one capped fetcher (src/wire/fetch.ts) against a real HTTP server on loopback. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { fetchCapped, fetchJson, type CappedFetchOptions } from '../../src/wire/fetch';
import { mappedFetch } from '../../src/gateway/netguard';

let server: Server;
let base = '';
let served = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/json') return void res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end('{"ok":true}');
    if (u.pathname === '/html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<p>hi</p>');
    if (u.pathname === '/error') return void res.writeHead(502, { 'content-type': 'text/html' }).end('<p>bad gateway</p>');
    if (u.pathname === '/redirect') return void res.writeHead(302, { location: '/json' }).end();
    if (u.pathname === '/slow') return void setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 2_000);
    // /big?n=BYTES[&declare]: streams BYTES, counting what went out before the reader stopped
    const n = Number(u.searchParams.get('n'));
    res.writeHead(200, { 'content-type': 'application/json', ...(u.searchParams.has('declare') ? { 'content-length': String(n) } : {}) });
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    served = 0;
    const pump = () => {
      while (served < n && !res.destroyed) {
        served += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});
afterAll(
  () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
);

// the extension's (and the browsers') fetch, and the gateway's requests to peers (undici's
// `request`, netguard.ts): the same caps, timeout and content checks hold for both
for (const [via, fetcher] of [
  ['fetch', undefined],
  ["the gateway's peer requests", mappedFetch],
] as const) {
  describe(`fetchCapped / fetchJson over ${via}`, () => {
    const o = (x: CappedFetchOptions): CappedFetchOptions => (fetcher ? { ...x, fetch: fetcher } : x);
    it('reads a small JSON answer', async () => {
      expect(await fetchJson(base + '/json', o({ maxBytes: 1024 }))).toEqual({ status: 200, json: { ok: true } });
    });

    it('aborts a streamed answer past the cap, having read little of it', async () => {
      await expect(fetchCapped(base + '/big?n=150000000', o({ maxBytes: 64 * 1024 }))).rejects.toMatchObject({ code: 'too_large' });
      await new Promise((r) => setTimeout(r, 200));
      expect(served).toBeLessThan(16e6);
    });

    it('refuses a declared Content-Length over the cap before reading the body', async () => {
      await expect(fetchCapped(base + '/big?n=150000000&declare', o({ maxBytes: 64 * 1024 }))).rejects.toMatchObject({
        code: 'too_large',
        message: expect.stringMatching(/150000000 bytes/),
      });
    });

    it('refuses redirects, wrong content types and slow servers', async () => {
      // a redirect is never followed: fetch fails on it, a peer request reads it as a refusal
      if (fetcher) expect(await fetchJson(base + '/redirect', o({ maxBytes: 1024 }))).toEqual({ status: 302, json: null });
      else await expect(fetchJson(base + '/redirect', o({ maxBytes: 1024 }))).rejects.toMatchObject({ code: 'network' });
      await expect(fetchJson(base + '/html', o({ maxBytes: 1024 }))).rejects.toMatchObject({ code: 'bad_type' });
      await expect(fetchJson(base + '/slow', o({ maxBytes: 1024, timeoutMs: 300 }))).rejects.toMatchObject({ code: 'timeout' });
    });

    it('reports a non-JSON error page by its status', async () => {
      expect(await fetchJson(base + '/error', o({ maxBytes: 1024 }))).toEqual({ status: 502, json: null });
    });
  });
}
