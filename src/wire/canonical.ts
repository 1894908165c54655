/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): object keys sorted by UTF-16 code units,
 * no whitespace, numbers in ECMAScript shortest form, strings escaped as JSON.stringify does
 * (which matches RFC 8785 section 3.2.2.2).
 */

export class CanonicalizationError extends Error {
  override name = 'CanonicalizationError';
}

export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalizationError('non-finite number');
      // ES Number::toString is exactly the RFC 8785 number serialization; -0 becomes 0.
      return Object.is(value, -0) ? '0' : String(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return '[' + value.map((v) => canonicalize(v)).join(',') + ']';
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort(compareUtf16);
      return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalize(obj[k])).join(',') + '}';
    }
    default:
      throw new CanonicalizationError(`cannot canonicalize ${typeof value}`);
  }
}

/** Array.prototype.sort's default compares UTF-16 code units, but be explicit about it. */
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
