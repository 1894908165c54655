import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = 'assets/_locales';
type Catalogue = Record<string, { message: string; placeholders?: Record<string, unknown> }>;
const load = (lang: string, file: string) => JSON.parse(readFileSync(`${dir}/${lang}/${file}`, 'utf8')) as Catalogue;
const files = readdirSync(`${dir}/en`).filter((f) => f.endsWith('.json'));

describe('locales', () => {
  it('ships English and German, with the same feature files', () => {
    expect(readdirSync(dir).sort()).toEqual(['de', 'en']);
    expect(readdirSync(`${dir}/de`).sort()).toEqual([...files].sort());
  });
  for (const file of files) {
    it(`de/${file} has exactly the English keys, with the same placeholders`, () => {
      const en = load('en', file);
      const de = load('de', file);
      expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
      for (const key of Object.keys(en)) {
        expect(Object.keys(de[key]?.placeholders ?? {}).sort(), key).toEqual(Object.keys(en[key]?.placeholders ?? {}).sort());
        expect(de[key]?.message.length, key).toBeGreaterThan(0);
      }
    });
  }
  it('has no key in two feature files', () => {
    const seen = new Map<string, string>();
    for (const file of files)
      for (const key of Object.keys(load('en', file))) {
        expect(seen.get(key), `${key} in ${file}`).toBeUndefined();
        seen.set(key, file);
      }
  });
});
