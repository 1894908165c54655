/** Deterministic RFC 4122 version 5 UUIDs, so the same policy builds byte-identical profiles. */
import { createHash } from 'node:crypto';

// Kontor's own namespace for configuration-profile UUIDs (fixed once; never change it).
const NAMESPACE = '6f1f3a5e-4b7d-4c59-9a0e-2d8c1b6e7f40';

export function uuidV5(name: string, namespace: string = NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
