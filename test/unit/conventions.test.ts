/**
 * Convention tests: the architecture rules of README "Architecture" and STYLE.md, checked on the
 * source tree so a change that breaks one fails `npm test` instead of waiting for a review.
 * Files are parsed with the TypeScript compiler (comments and strings do not count).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { root } from '../support/paths';

const rel = (file: string) => path.relative(root, file).split(path.sep).join('/');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => rel(path.join(e.parentPath, e.name)))
    .sort();
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(path.join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
}

/** Every module specifier a file imports or re-exports, statically or with `import()`. */
function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(path.join(root, file), 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** The repo-relative path a relative specifier points to; `null` for packages and `node:` modules. */
function resolved(from: string, specifier: string): string | null {
  return specifier.startsWith('.') ? rel(path.resolve(root, path.dirname(from), specifier)) : null;
}

/** `file: what` for every identifier in `file` that `bad` flags. */
function identifiersIn(file: string, bad: (node: ts.Identifier) => string | null): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) {
      const what = bad(node);
      if (what) found.push(`${file}: ${what}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(parse(file));
  return found;
}

const src = sourceFiles('src');

describe('browser differences live only in src/shared/browser*.ts', () => {
  const home = /^src\/shared\/browser[^/]*\.ts$/;
  /** Known violations, each with the reason it stays for now (none today). */
  const allowed: Record<string, string> = {};
  // Names that branch on the browser: the wrapper's flag and what it is derived from.
  const checks = new Set(['isFirefox', 'getBrowserInfo', 'userAgent']);
  const found = src
    .filter((f) => !home.test(f))
    .flatMap((f) =>
      identifiersIn(f, (id) => {
        if (id.text === 'chrome' && !ts.isPropertyAccessExpression(id.parent)) return null;
        if (id.text === 'chrome' && (id.parent as ts.PropertyAccessExpression).expression === id) return 'chrome.';
        return checks.has(id.text) ? id.text : null;
      }),
    );
  const unique = [...new Set(found)];

  it('no `chrome.` and no browser check outside the wrapper, except the listed ones', () => {
    expect(unique.filter((v) => !(v in allowed))).toEqual([]);
  });

  it('every allowlist entry is still needed', () => {
    expect(Object.keys(allowed).filter((v) => !unique.includes(v))).toEqual([]);
  });

  it('catches a violation (the check itself works)', () => {
    expect(identifiersIn('src/shared/browser.ts', (id) => (id.text === 'isFirefox' ? 'isFirefox' : null)).length).toBeGreaterThan(0);
  });
});

describe('imports follow the folders', () => {
  const crossing = (files: string[], allowedTarget: (target: string, file: string) => boolean) =>
    files.flatMap((f) =>
      importsOf(f)
        .map((s) => ({ s, target: resolved(f, s) }))
        .filter(({ target }) => target !== null && !allowedTarget(target, f))
        .map(({ s }) => `${f} imports ${s}`),
    );

  it('src/ui and src/content never import src/background', () => {
    const files = src.filter((f) => f.startsWith('src/ui/') || f.startsWith('src/content/'));
    expect(files.length).toBeGreaterThan(10);
    expect(crossing(files, (t) => !t.startsWith('src/background/') && t !== 'src/background')).toEqual([]);
  });

  it('src/gateway imports only its own files, src/wire, node and packages', () => {
    const files = src.filter((f) => f.startsWith('src/gateway/'));
    expect(files.length).toBeGreaterThan(10);
    expect(crossing(files, (t) => t.startsWith('src/gateway/') || t.startsWith('src/wire/'))).toEqual([]);
  });

  it('test/support and the gateway helpers never import vitest, so scripts (demo, benchmarks) can use them', () => {
    const files = [...sourceFiles('test/support'), 'test/gateway/helpers.ts'];
    expect(files.length).toBeGreaterThan(5);
    expect(files.filter((f) => importsOf(f).some((s) => s === 'vitest' || s.startsWith('vitest/')))).toEqual([]);
  });

  it('scripts import test code only from test/support (and the gateway and cluster helpers)', () => {
    const files = sourceFiles('scripts');
    // the demo and the cluster bench start clusters as the tests do (cluster-helpers.ts)
    const helpers = ['test/gateway/helpers', 'test/gateway/cluster-helpers'];
    const bad = crossing(files, (t) => !t.startsWith('test/') || t.startsWith('test/support/') || helpers.includes(t));
    expect(bad).toEqual([]);
  });

  it('the import scan sees relative imports (the check itself works)', () => {
    expect(importsOf('src/ui/popup/main.tsx').some((s) => s.startsWith('../../shared/'))).toBe(true);
  });
});
