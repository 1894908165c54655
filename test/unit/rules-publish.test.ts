/**
 * The published filter list (`dist/lists/kontor-b2b.txt`): written by the build's own function
 * into a temporary directory, parsed back line by line as a subscriber's blocker would, and
 * compared with assets/lists/b2b-identification.json.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { B2bList, readList } from '../../scripts/rules/lists';
import { coveredBy, isHostName } from '../../scripts/rules/hosts';
import { abpPattern, writeB2bFilterList } from '../../scripts/rules/publish';

const root = path.resolve(__dirname, '..', '..');
const list = readList(path.join(root, 'assets', 'lists', 'b2b-identification.json'), B2bList);
const dir = mkdtempSync(path.join(tmpdir(), 'kontor-publish-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const text = readFileSync(writeB2bFilterList(root, dir, new Date('2026-12-05T10:20:00Z')), 'utf8');
const lines = text.split('\n').filter((l) => l !== '');

interface Parsed {
  header: Record<string, string>;
  thirdPartyHosts: string[];
  patterns: string[];
  exceptions: string[];
  other: string[];
}

function parse(lines: string[]): Parsed {
  const p: Parsed = { header: {}, thirdPartyHosts: [], patterns: [], exceptions: [], other: [] };
  let inHeader = true;
  for (const line of lines.slice(1)) {
    // The header is the comment block up to the first empty comment line.
    if (line === '!') inHeader = false;
    const meta = /^! ([A-Z][A-Za-z ]+): (.*)$/.exec(line);
    if (inHeader && meta) {
      p.header[meta[1]!] = meta[2]!;
      continue;
    }
    if (line.startsWith('!')) continue;
    let m: RegExpExecArray | null;
    if ((m = /^\|\|([a-z0-9.-]+)\^\$third-party$/.exec(line))) p.thirdPartyHosts.push(m[1]!);
    else if ((m = /^@@\|\|([a-z0-9.-]+)\^$/.exec(line))) p.exceptions.push(m[1]!);
    else if (!line.includes('$') && !line.startsWith('@@') && !line.includes('##')) p.patterns.push(line);
    else p.other.push(line);
  }
  return p;
}

describe('published B2B filter list', () => {
  const parsed = parse(lines);

  it('starts with the header other blockers read: title, version, licence, homepage, expiry', () => {
    expect(lines[0]).toBe('[Adblock Plus 2.0]');
    expect(parsed.header.Title).toBe('Kontor B2B identification list');
    expect(parsed.header.Version).toMatch(/^\d+\.\d+\.\d+\.202612051020$/);
    expect(parsed.header.License).toBe('GPL-3.0-or-later');
    expect(parsed.header.Expires).toBe('4 days');
    expect(parsed.header.Homepage).toBeTruthy();
    expect(parsed.header['Last modified']).toBe('2026-12-05T10:20:00.000Z');
  });

  it("blocks exactly the list's domains as third-party host rules (hosts under a listed domain folded in)", () => {
    const listed = list.vendors.flatMap((v) => v.domains);
    const published = new Set(parsed.thirdPartyHosts);
    for (const d of listed) expect(coveredBy(d, published), d).toBe(true);
    for (const h of published) expect(listed.includes(h), h).toBe(true);
    expect(parsed.thirdPartyHosts.every(isHostName)).toBe(true);
    expect(published.size).toBe(parsed.thirdPartyHosts.length);
    expect(published.size).toBeGreaterThan(500);
  });

  it('carries every URL pattern, and no pattern reads as a regular expression', () => {
    expect(parsed.patterns).toEqual(list.vendors.flatMap((v) => v.urls.map(abpPattern)));
    for (const p of parsed.patterns) expect(p.startsWith('/') && p.endsWith('/'), p).toBe(false);
    expect(abpPattern('/acton/bn/tracker/')).toBe('/acton/bn/tracker/*');
  });

  it("keeps the vendors' needed hosts as exceptions, and has no other kind of line", () => {
    expect(parsed.exceptions).toEqual(list.vendors.flatMap((v) => v.keep ?? []));
    expect(parsed.exceptions).toContain('go.pardot.com');
    expect(parsed.other).toEqual([]);
  });

  it('names every vendor with its source in a comment', () => {
    for (const v of list.vendors) expect(text, v.vendor).toContain(`! ${v.vendor} (${v.company}; ${v.kind})`);
  });
});
