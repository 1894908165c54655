import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = 'assets/_locales';
const load = (lang: string) => JSON.parse(readFileSync(`${dir}/${lang}/messages.json`, 'utf8')) as Record<string, { message: string; placeholders?: Record<string, unknown> }>;

describe('locales', () => {
  const en = load('en');
  it('ships English and German', () => {
    expect(readdirSync(dir).sort()).toEqual(['de', 'en']);
  });
  for (const lang of readdirSync(dir).filter((l) => l !== 'en')) {
    it(`${lang} has exactly the English keys, with the same placeholders`, () => {
      const other = load(lang);
      expect(Object.keys(other).sort()).toEqual(Object.keys(en).sort());
      for (const key of Object.keys(en)) {
        expect(Object.keys(other[key]?.placeholders ?? {}).sort(), key).toEqual(Object.keys(en[key]?.placeholders ?? {}).sort());
        expect(other[key]?.message.length, key).toBeGreaterThan(0);
      }
    });
  }
});
