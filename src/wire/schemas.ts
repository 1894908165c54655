/** Building-block valibot schemas used by every Kontor wire format. */
import * as v from 'valibot';
import { fromBase64 } from './bytes';

export const Domain = v.pipe(
  v.string(),
  v.maxLength(253),
  v.regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/, 'must be a lower-case DNS name'),
);

/** Short identifiers chosen by admins or clients: employee ids, contact ids, device ids, message ids. */
export const Ident = v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 chars of A-Z a-z 0-9 . _ -'));

export const DisplayName = v.pipe(v.string(), v.minLength(1), v.maxLength(128));

export const IsoTime = v.pipe(
  v.string(),
  v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/, 'must be an ISO 8601 UTC timestamp'),
  v.check((s) => !Number.isNaN(Date.parse(s)), 'invalid date'),
);

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
/** Regex first: it runs natively, so 256 KB payloads are checked without a JS decode loop. */
const isBase64Text = (s: string) => s.length % 4 === 0 && B64_RE.test(s);

const isBase64 = (n?: number) => (s: string) => {
  if (n === undefined) return isBase64Text(s);
  try {
    const b = fromBase64(s);
    return n === undefined || b.length === n;
  } catch {
    return false;
  }
};

/** base64 of a raw 32-byte Ed25519 public key */
export const PublicKeyB64 = v.pipe(v.string(), v.maxLength(48), v.check(isBase64(32), 'must be base64 of 32 bytes'));
/** base64 of a 64-byte Ed25519 signature */
export const SignatureB64 = v.pipe(v.string(), v.maxLength(96), v.check(isBase64(64), 'must be base64 of 64 bytes'));

/** Opaque ciphertext or key package bytes, base64. maxBytes bounds the decoded size. */
export const Opaque = (maxBytes: number) =>
  v.pipe(v.string(), v.minLength(1), v.maxLength(Math.ceil(maxBytes / 3) * 4), v.check(isBase64(), 'must be base64'));

export const HttpsUrl = v.pipe(v.string(), v.maxLength(2048), v.url(), v.regex(/^https?:\/\//, 'must be an http(s) URL'));

/** `deviceId@domain`: how routing names a device across gateways. */
export const DeviceAddress = v.pipe(
  v.string(),
  v.maxLength(320),
  v.check((s) => {
    const at = s.indexOf('@');
    return at > 0 && v.is(Ident, s.slice(0, at)) && v.is(Domain, s.slice(at + 1));
  }, 'must be deviceId@domain'),
);

export function splitAddress(addr: string): { deviceId: string; domain: string } {
  const at = addr.indexOf('@');
  return { deviceId: addr.slice(0, at), domain: addr.slice(at + 1) };
}
