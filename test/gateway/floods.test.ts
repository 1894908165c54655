/**
 * Issue #14 finding 7: what a stranger's connections may cost a real gateway process. One
 * address holds a bounded number of connections; a request that trickles its headers, and a
 * WebSocket that never authenticates (and ignores close frames), are cut within seconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { startGateway, type GatewayHandle } from './helpers';

let gw: GatewayHandle;
beforeAll(async () => {
  gw = await startGateway({ domain: 'acme.example', extraArgs: ['--max-conns-per-address', '8'] });
});
afterAll(async () => gw?.stop());

function open(localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: gw.port, localAddress }, () => resolve(s));
    s.on('error', reject);
  });
}

/** ms until the server closes the socket, or Infinity if it is still open after `within` ms */
function closedWithin(s: Socket, within: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(Infinity), within);
    s.on('error', () => undefined);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

describe('connection floods (finding 7)', () => {
  it('closes connections from one address past its cap at once, and serves other addresses', async () => {
    const held = await Promise.all(Array.from({ length: 8 }, () => open('127.0.0.3')));
    const extra = await open('127.0.0.3');
    expect(await closedWithin(extra, 3_000)).toBeLessThan(3_000);
    expect((await fetch(gw.url + '/healthz')).status).toBe(200);
    // a held connection is still served, and a freed place can be taken again
    held[0]!.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await open('127.0.0.3');
    expect(await closedWithin(again, 1_000)).toBe(Infinity);
    for (const s of [...held, again]) s.destroy();
  });

  it('cuts a request whose headers never end within seconds (slowloris)', async () => {
    const s = await open('127.0.0.8');
    s.write('POST /v1/enroll HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const drip = setInterval(() => s.writable && s.write('a'), 500);
    const ms = await closedWithin(s, 25_000);
    clearInterval(drip);
    expect(ms).toBeLessThan(25_000); // headersTimeout 10 s (Node's default: 60 s)
  }, 40_000);

  it('cuts a WebSocket that never authenticates and ignores the close handshake', async () => {
    const s = await open('127.0.0.9');
    s.write(
      `GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const upgraded = await new Promise<string>((r) => s.once('data', (d: Buffer) => r(d.toString('latin1'))));
    expect(upgraded).toMatch(/^HTTP\/1.1 101/);
    // reads the challenge and whatever follows, never answers anything
    s.on('data', () => undefined);
    expect(await closedWithin(s, 20_000)).toBeLessThan(20_000); // auth deadline 5 s, then terminate (was close after 10 s + 30 s)
  }, 30_000);
});
