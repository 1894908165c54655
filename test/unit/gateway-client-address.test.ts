/** Which address enrollment limits count (issue 14: 11), and the flags that set it up. */
import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { clientAddress, limitKey } from '../../src/gateway/client-address';
import { loadConfig, parseArgs, ConfigError } from '../../src/gateway/config';

const req = (remoteAddress: string, xff?: string | string[]) =>
  ({ socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

describe('clientAddress', () => {
  it('ignores X-Forwarded-For unless the proxy is trusted', () => {
    expect(clientAddress(req('127.0.0.1', '203.0.113.7'), false)).toBe('127.0.0.1');
    expect(clientAddress(req('::ffff:127.0.0.1'), false)).toBe('127.0.0.1');
  });
  it('behind a trusted proxy takes the entry the proxy appended, not what the client wrote before it', () => {
    expect(clientAddress(req('127.0.0.1', '1.2.3.4, 203.0.113.7'), true)).toBe('203.0.113.7');
    // two header lines (HAProxy's option forwardfor adds its own)
    expect(clientAddress(req('127.0.0.1', ['1.2.3.4', '203.0.113.8']), true)).toBe('203.0.113.8');
    expect(clientAddress(req('127.0.0.1'), true)).toBe('127.0.0.1');
  });
  it('counts an IPv6 client per /64', () => {
    expect(limitKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(limitKey('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(limitKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(limitKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('hardening flags', () => {
  it('parses --trust-proxy, --metrics-port and --metrics-host', () => {
    const base = loadConfig(parseArgs(['--domain', 'acme.example']).opts, {});
    expect(base).toMatchObject({ trustProxy: false, metricsPort: null, metricsHost: '127.0.0.1' });
    const c = loadConfig(parseArgs(['--domain', 'acme.example', '--trust-proxy', '--metrics-port', '9464']).opts, {
      KONTOR_METRICS_HOST: '10.0.0.5',
    });
    expect(c).toMatchObject({ trustProxy: true, metricsPort: 9464, metricsHost: '10.0.0.5' });
    expect(loadConfig(parseArgs(['--domain', 'acme.example']).opts, { KONTOR_TRUST_PROXY: '1' }).trustProxy).toBe(true);
    expect(() => loadConfig(parseArgs(['--domain', 'acme.example', '--metrics-port', '70000']).opts, {})).toThrow(ConfigError);
  });
});
