/**
 * `npm run build`: bundles every extension context with esbuild and writes two unpacked
 * extensions from the one source manifest: dist/chromium (service worker, side_panel,
 * fixed id through `key`) and dist/firefox (background scripts, sidebar_action, gecko id).
 * Tracker rulesets are compiled from list data at build time (scripts/rules/compile.ts).
 */
import { build as esbuild } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export type Target = 'chromium' | 'firefox';
export const targets: Target[] = ['chromium', 'firefox'];

const entries = {
  background: 'src/background/index.ts',
  content: 'src/content/detector.ts',
  popup: 'src/ui/popup/main.tsx',
  sidepanel: 'src/ui/sidepanel/main.tsx',
  options: 'src/ui/options/main.tsx',
} as const;
const pages = ['popup', 'sidepanel', 'options'] as const;

type Manifest = Record<string, unknown> & { permissions: string[]; background: Record<string, unknown> };

interface RulesetMeta {
  id: string;
  category: string;
  file: string;
  enabledByDefault: boolean;
  rules: number;
  bytes: number;
}

/** addons-linter refuses to parse files over 5 MB; keep every shipped rule file under this. */
const MAX_RULE_FILE_BYTES = 3_500_000;

async function compileRulesets(outDir: string, quiet: boolean): Promise<RulesetMeta[]> {
  const compiler = path.join(root, 'scripts/rules/compile.ts');
  if (!existsSync(compiler)) return [];
  const mod = (await import(pathToFileURL(compiler).href)) as { compileRules(o: { outDir: string; quiet?: boolean }): Promise<unknown> };
  await mod.compileRules({ outDir, quiet });
  const meta = JSON.parse(readFileSync(path.join(outDir, 'rulesets.json'), 'utf8')) as RulesetMeta[];
  return splitLargeRulesets(outDir, meta);
}

/**
 * A category whose rule file is too large for the store linters ships as several rulesets
 * (`analytics_1`, `analytics_2`, ...) of the same category; the background switches a
 * category by switching all of its rulesets.
 */
function splitLargeRulesets(outDir: string, meta: RulesetMeta[]): RulesetMeta[] {
  const result: RulesetMeta[] = [];
  for (const entry of meta) {
    if (entry.bytes <= MAX_RULE_FILE_BYTES) {
      result.push(entry);
      continue;
    }
    const rules = JSON.parse(readFileSync(path.join(outDir, entry.file), 'utf8')) as unknown[];
    const chunks: unknown[][] = [[]];
    let bytes = 2;
    for (const rule of rules) {
      const size = JSON.stringify(rule).length + 1;
      if (bytes + size > MAX_RULE_FILE_BYTES && chunks[chunks.length - 1]!.length) {
        chunks.push([]);
        bytes = 2;
      }
      chunks[chunks.length - 1]!.push(rule);
      bytes += size;
    }
    for (const [i, chunk] of chunks.entries()) {
      const file = `${entry.id}-${i + 1}.json`;
      const text = JSON.stringify(chunk);
      writeFileSync(path.join(outDir, file), text);
      result.push({ ...entry, id: `${entry.id}_${i + 1}`, file, rules: chunk.length, bytes: text.length });
    }
    rmSync(path.join(outDir, entry.file));
  }
  writeFileSync(path.join(outDir, 'rulesets.json'), JSON.stringify(result, null, 2));
  return result;
}

function manifestFor(target: Target, rulesets: RulesetMeta[]): Manifest {
  const m = JSON.parse(readFileSync(path.join(root, 'manifest.json'), 'utf8')) as Manifest;
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  m.version = pkg.version;
  if (rulesets.length) {
    m.declarative_net_request = {
      rule_resources: rulesets.map((r) => ({ id: r.id, enabled: r.enabledByDefault, path: `rules/${r.file}` })),
    };
  }
  if (target === 'chromium') {
    delete m.sidebar_action;
    delete m.browser_specific_settings;
    m.background = { service_worker: 'background.js' };
    // Chromium counts blocked requests through the DNR feedback APIs. Merely holding a
    // webRequest listener made a tracker-free page load 31% slower here (bench pageload), so
    // the Chromium build does not ask for webRequest at all; Firefox keeps it for its counts.
    m.permissions = m.permissions.filter((p) => p !== 'webRequest');
  } else {
    // Firefox: event page instead of a service worker, sidebar instead of side panel, and
    // no `key` (its id comes from browser_specific_settings.gecko.id).
    delete m.key;
    delete m.side_panel;
    delete m.minimum_chrome_version;
    m.background = { scripts: ['background.js'] };
    m.permissions = m.permissions.filter((p) => p !== 'sidePanel');
  }
  return m;
}

/**
 * Each feature keeps its UI strings in its own file (`assets/_locales/<lang>/<feature>.json`);
 * the build merges them into the one `messages.json` per language that browsers read.
 */
function writeLocales(outDir: string): void {
  const src = path.join(root, 'assets/_locales');
  for (const lang of readdirSync(src)) {
    const merged: Record<string, unknown> = {};
    for (const file of readdirSync(path.join(src, lang))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const part = JSON.parse(readFileSync(path.join(src, lang, file), 'utf8')) as Record<string, unknown>;
      for (const [key, value] of Object.entries(part)) {
        if (key in merged) throw new Error(`duplicate UI string "${key}" in _locales/${lang}/${file}`);
        merged[key] = value;
      }
    }
    mkdirSync(path.join(outDir, lang), { recursive: true });
    writeFileSync(path.join(outDir, lang, 'messages.json'), JSON.stringify(merged));
  }
}

function pageHtml(name: string): string {
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="ui.css">
<script src="${name}.js" defer></script>
</head>
<body class="${name}"><div id="app"></div></body>
</html>
`;
}

export async function build(options: { quiet?: boolean } = {}): Promise<void> {
  const log = options.quiet ? () => undefined : (s: string) => console.log(s);
  const dist = path.join(root, 'dist');
  const bundles = path.join(root, 'build/bundles');
  rmSync(dist, { recursive: true, force: true });
  rmSync(bundles, { recursive: true, force: true });
  const result = await esbuild({
    absWorkingDir: root,
    entryPoints: entries,
    outdir: bundles,
    bundle: true,
    format: 'iife',
    // Service workers forbid dynamic import(): no code splitting anywhere.
    splitting: false,
    // KONTOR_BUILD_NAMES=1 keeps function names, for profiles (scripts/profile-channel.ts)
    minify: !process.env.KONTOR_BUILD_NAMES,
    keepNames: Boolean(process.env.KONTOR_BUILD_NAMES),
    sourcemap: false,
    target: ['chrome122', 'firefox128'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  for (const [file, out] of Object.entries(result.metafile.outputs)) log(`  ${path.basename(file).padEnd(16)} ${out.bytes} bytes`);

  const rulesDir = path.join(root, 'build/rules');
  rmSync(rulesDir, { recursive: true, force: true });
  const rulesets = await compileRulesets(rulesDir, options.quiet ?? false);
  // The B2B list as a filter list other blockers can subscribe to (not part of the extension).
  const { writeB2bFilterList } = (await import(
    pathToFileURL(path.join(root, 'scripts/rules/publish.ts')).href
  )) as typeof import('./rules/publish');
  log(`wrote ${path.relative(root, writeB2bFilterList(root, path.join(dist, 'lists')))}`);

  for (const target of targets) {
    const out = path.join(dist, target);
    mkdirSync(out, { recursive: true });
    for (const name of Object.keys(entries)) cpSync(path.join(bundles, `${name}.js`), path.join(out, `${name}.js`));
    for (const page of pages) writeFileSync(path.join(out, `${page}.html`), pageHtml(page));
    cpSync(path.join(root, 'src/ui/styles.css'), path.join(out, 'ui.css'));
    writeLocales(path.join(out, '_locales'));
    cpSync(path.join(root, 'assets/icons'), path.join(out, 'icons'), { recursive: true });
    const schema = path.join(root, 'assets/managed_schema.json');
    if (existsSync(schema)) cpSync(schema, path.join(out, 'managed_schema.json'));
    else writeFileSync(path.join(out, 'managed_schema.json'), JSON.stringify({ type: 'object', properties: {} }));
    if (rulesets.length) cpSync(rulesDir, path.join(out, 'rules'), { recursive: true });
    cpSync(path.join(root, 'LICENSE'), path.join(out, 'LICENSE'));
    writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifestFor(target, rulesets), null, 2));
    log(`wrote dist/${target}/`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  build().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
