/**
 * The typed payload inside MLS application messages. Version 1 carries text; `file` and
 * `receipt` can be added as further variants without breaking old clients, which reject
 * unknown types cleanly (PayloadError 'unknown_type') instead of showing garbage.
 */
import * as v from 'valibot';
import { MAX_TEXT_CHARS } from '../../shared/protocol';
import { Ident, IsoTime } from '../../wire/schemas';
import { DeviceRevocation } from '../../wire/identity';
import { fromUtf8, utf8 } from '../../wire/bytes';

/** Encoded payload bytes; MLS ciphertexts stay far below the gateway's 256 KiB limit. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
export { MAX_TEXT_CHARS };

export const TextPayload = v.strictObject({
  v: v.literal(1),
  type: v.literal('text'),
  id: Ident,
  text: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_TEXT_CHARS)),
  sentAt: IsoTime,
});

/** Known payload types that are stored and shown as messages. Add `file` and `receipt` variants here. */
export const Payload = v.variant('type', [TextPayload]);
export type Payload = v.InferOutput<typeof Payload>;
export type PayloadType = Payload['type'];

/** A signed device revocation (wire/identity.ts) relayed to a conversation's members: acted on, not stored. */
export const RevocationPayload = v.strictObject({
  v: v.literal(1),
  type: v.literal('revocation'),
  id: Ident,
  statement: DeviceRevocation,
  sentAt: IsoTime,
});
export type RevocationPayload = v.InferOutput<typeof RevocationPayload>;

/** Everything an application message may carry. */
export const WirePayload = v.variant('type', [TextPayload, RevocationPayload]);
export type WirePayload = v.InferOutput<typeof WirePayload>;
const KNOWN_TYPES: readonly string[] = WirePayload.options.map((o) => o.entries.type.literal);

export class PayloadError extends Error {
  override name = 'PayloadError';
  constructor(
    readonly code: 'too_large' | 'not_json' | 'unknown_version' | 'unknown_type' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

export function encodePayload(p: WirePayload): Uint8Array {
  const parsed = v.safeParse(WirePayload, p);
  if (!parsed.success) throw new PayloadError('invalid', `invalid payload: ${parsed.issues[0]?.message ?? ''}`);
  const bytes = utf8(JSON.stringify(parsed.output));
  if (bytes.length > MAX_PAYLOAD_BYTES) throw new PayloadError('too_large', `payload is ${bytes.length} bytes`);
  return bytes;
}

export function decodePayload(bytes: Uint8Array): WirePayload {
  if (bytes.length > MAX_PAYLOAD_BYTES) throw new PayloadError('too_large', `payload is ${bytes.length} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(bytes));
  } catch {
    throw new PayloadError('not_json', 'payload is not UTF-8 JSON');
  }
  if (typeof json !== 'object' || json === null) throw new PayloadError('invalid', 'payload is not an object');
  const head = json as { v?: unknown; type?: unknown };
  if (head.v !== 1) throw new PayloadError('unknown_version', `payload version ${String(head.v)}`);
  if (typeof head.type !== 'string' || !KNOWN_TYPES.includes(head.type)) {
    throw new PayloadError('unknown_type', `payload type ${String(head.type).slice(0, 32)}`);
  }
  const parsed = v.safeParse(WirePayload, json);
  if (!parsed.success) throw new PayloadError('invalid', `invalid payload: ${parsed.issues[0]?.message ?? ''}`);
  return parsed.output;
}

/** Client-chosen message ids double as the gateway's idempotency key: 128 random bits, Ident-safe. */
export function newMessageId(): string {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  let s = 'm';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function textPayload(text: string, now = new Date()): Payload {
  return { v: 1, type: 'text', id: newMessageId(), text, sentAt: now.toISOString() };
}
