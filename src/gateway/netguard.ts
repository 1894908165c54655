/**
 * Outgoing connections to peers reach public addresses only. The check sits in the
 * connection's DNS lookup (undici's `connect.lookup`), so the address checked is the address
 * connected to: a name that resolves to a public address for a first check and to 127.0.0.1
 * a moment later (DNS rebinding) cannot slip between the two.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';

/** Addresses that are not on the public internet (IANA special-purpose registries). */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  // IPv4-mapped (::ffff:a.b.c.d): BlockList would test every IPv4 address against such a
  // rule, and no public server needs one; refused outright
  if (family === 6 && /^(0{0,4}:){0,5}:?ffff:/i.test(address)) return false;
  return !PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup that fails unless every address the name resolves to is public. */
export function publicLookup(hostname: string, options: { all?: boolean }, cb: LookupCallback): void {
  dnsLookup(hostname, { all: true }, (err, addrs) => {
    if (err) return cb(err, []);
    const bad = addrs.find((a) => !isPublicAddress(a.address));
    if (bad || addrs.length === 0) {
      const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${bad?.address ?? 'nothing'}, not a public address`);
      e.code = 'ENOTPUBLIC';
      return cb(e, []);
    }
    if (options.all) cb(null, addrs);
    else cb(null, addrs[0]!.address, addrs[0]!.family);
  });
}

const publicAgent = new Agent({ connect: { lookup: publicLookup as never }, connections: 64 });
/**
 * For peers the operator mapped (a development or private network): no address check, but the
 * same client as publicFetch. Node's built-in fetch, an older bundled undici, took about twice as
 * long per request on loopback (0.46 against 0.30 ms at the median, 3.3 against 1.0 ms at p95).
 */
const mappedAgent = new Agent({ connections: 64 });

export const mappedFetch = (url: string, init: RequestInit): Promise<Response> =>
  undiciFetch(url, { ...(init as object), dispatcher: mappedAgent }) as unknown as Promise<Response>;

/** fetch that connects to public addresses only; for URLs outside the development mapping. */
export const publicFetch = (url: string, init: RequestInit): Promise<Response> => {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  // an IP literal is connected to without a lookup: check it here
  if (isIP(host) && !isPublicAddress(host)) return Promise.reject(new Error(`${host} is not a public address`));
  return undiciFetch(url, { ...(init as object), dispatcher: publicAgent }) as unknown as Promise<Response>;
};
