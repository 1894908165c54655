/** The one capped fetcher (src/wire/fetch.ts) against a real HTTP server on loopback. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { fetchCapped, fetchJson } from '../../src/wire/fetch';

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

describe('fetchCapped / fetchJson', () => {
  it('reads a small JSON answer', async () => {
    expect(await fetchJson(base + '/json', { maxBytes: 1024 })).toEqual({ status: 200, json: { ok: true } });
  });

  it('aborts a streamed answer past the cap, having read little of it', async () => {
    await expect(fetchCapped(base + '/big?n=150000000', { maxBytes: 64 * 1024 })).rejects.toMatchObject({ code: 'too_large' });
    await new Promise((r) => setTimeout(r, 200));
    expect(served).toBeLessThan(16e6);
  });

  it('refuses a declared Content-Length over the cap before reading the body', async () => {
    await expect(fetchCapped(base + '/big?n=150000000&declare', { maxBytes: 64 * 1024 })).rejects.toMatchObject({
      code: 'too_large',
      message: expect.stringMatching(/150000000 bytes/),
    });
  });

  it('refuses redirects, wrong content types and slow servers', async () => {
    await expect(fetchJson(base + '/redirect', { maxBytes: 1024 })).rejects.toMatchObject({ code: 'network' });
    await expect(fetchJson(base + '/html', { maxBytes: 1024 })).rejects.toMatchObject({ code: 'bad_type' });
    await expect(fetchJson(base + '/slow', { maxBytes: 1024, timeoutMs: 300 })).rejects.toMatchObject({ code: 'timeout' });
  });

  it('reports a non-JSON error page by its status', async () => {
    expect(await fetchJson(base + '/error', { maxBytes: 1024 })).toEqual({ status: 502, json: null });
  });
});
