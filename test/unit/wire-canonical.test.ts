import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalize, CanonicalizationError } from '../../src/wire/canonical';
import { fromBase64, toBase64, EncodingError } from '../../src/wire/bytes';

describe('RFC 8785 canonicalization', () => {
  it('sorts keys by UTF-16 code units and strips whitespace', () => {
    // RFC 8785 section 3.2.3 sorting example
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Object.keys would reorder integer-like keys, so read the key order from the text itself
    const keys = [...canonicalize(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`));
    expect(keys).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it('serializes numbers like ECMAScript (RFC 8785 3.2.2.3)', () => {
    // biome-ignore lint/correctness/noPrecisionLoss: RFC 8785's own example: the input has more digits than a double holds
    expect(canonicalize({ numbers: [333333333.33333329, 1e30, 4.5, 0.002, 1e-27, -0] })).toBe(
      '{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27,0]}',
    );
    expect(canonicalize({ b: [true, false, null], a: 'x\u000f"' })).toBe('{"a":"x\\u000f\\"","b":[true,false,null]}');
  });

  it('rejects values JSON cannot carry', () => {
    expect(() => canonicalize({ a: Number.NaN })).toThrow(CanonicalizationError);
    expect(() => canonicalize({ a: () => 1 })).toThrow(CanonicalizationError);
  });

  it('is stable under key reordering and round-trips through JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (val) => {
        const c = canonicalize(val);
        expect(canonicalize(JSON.parse(c))).toBe(c);
      }),
    );
  });
});

describe('base64', () => {
  it('round-trips arbitrary bytes and agrees with Node', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const s = toBase64(b);
        expect(s).toBe(Buffer.from(b).toString('base64'));
        expect(Array.from(fromBase64(s))).toEqual(Array.from(b));
      }),
    );
  });
  it('rejects garbage', () => {
    expect(() => fromBase64('ab$c')).toThrow(EncodingError);
    expect(() => fromBase64('a')).toThrow(EncodingError);
  });
});
