/**
 * The address a request comes from, as limits should count it. Behind the TLS proxy every
 * socket comes from the proxy, so one client's failures would count against everyone; with
 * `--trust-proxy` the proxy's X-Forwarded-For is used instead. Only its last entry: that is
 * the one the proxy itself appended (what the client sent in the header stands before it).
 * Without `--trust-proxy` the header is ignored, so a client cannot choose its own address.
 */
import { isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';

export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  let addr = req.socket.remoteAddress ?? '?';
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const last = (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',').at(-1)?.trim();
    if (last) addr = last;
  }
  return limitKey(addr);
}

/**
 * One key per client: an IPv4 address, or an IPv6 /64 (one subscriber usually holds a whole
 * /64 and could otherwise take a fresh address for every attempt).
 */
export function limitKey(addr: string): string {
  const a = addr.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (!isIPv6(a)) return a;
  const [head = '', tail = ''] = a.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return (
    groups
      .slice(0, 4)
      .map((g) => g.replace(/^0+(?=.)/, ''))
      .join(':') + '::/64'
  );
}
