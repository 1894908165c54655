/**
 * `npm run bench -- rules`: compile time, rule counts and sizes per ruleset, and
 * `startup_active_s`: seconds from launching Chromium with the built extension (dist/chromium,
 * fresh profile each run) until a page's tracker request no longer reaches the server.
 * Progress on stderr; the last stdout line is one JSON object.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { compileRules, REPO_ROOT } from '../rules/compile';

const CHROMIUM = '/usr/lib/chromium/chromium';
const EXTENSION = process.env.KONTOR_BENCH_EXTENSION ?? path.join(REPO_ROOT, 'dist', 'chromium');
const RUNS = Number(process.env.KONTOR_BENCH_RUNS ?? 3);
const TIMEOUT_S = 30;
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

/** Serves a page that requests two trackers; remembers which tracker requests arrived. */
function startServer(): Promise<{ server: Server; port: number; seen: Set<string> }> {
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    const host = (req.headers.host ?? '').split(':')[0] ?? '';
    const url = new URL(req.url ?? '/', 'http://x');
    if (host === 'www.business.example' && url.pathname === '/start.html') {
      const n = url.searchParams.get('n') ?? '0';
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' });
      res.end(
        `<!doctype html><title>start</title><script src="http://www.google-analytics.com/analytics.js?n=${n}"></script><img src="http://j.6sc.co/6si.min.js?n=${n}">`,
      );
      return;
    }
    if (host !== 'www.business.example') seen.add(`${host}${url.pathname}?n=${url.searchParams.get('n') ?? ''}`);
    res.writeHead(200, { 'content-type': url.pathname.endsWith('.js') ? 'text/javascript' : 'text/plain', 'cache-control': 'no-store' });
    res.end('');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === 'object' && addr ? addr.port : 0, seen });
    }),
  );
}

async function startupOnce(port: number, seen: Set<string>): Promise<{ seconds: number; leakedNavigations: number }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'kontor-bench-'));
  const t0 = performance.now();
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ignoreDefaultArgs: ['--disable-extensions'],
    args: [
      `--disable-extensions-except=${EXTENSION}`,
      `--load-extension=${EXTENSION}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--host-resolver-rules=MAP * 127.0.0.1:${port}, EXCLUDE localhost`,
    ],
  });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    for (let n = 1; ; n++) {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed > TIMEOUT_S) throw new Error(`trackers still arrive ${TIMEOUT_S} s after launch`);
      await page.goto(`http://www.business.example/start.html?n=${n}`, { waitUntil: 'load' });
      const leaked = seen.has(`www.google-analytics.com/analytics.js?n=${n}`) || seen.has(`j.6sc.co/6si.min.js?n=${n}`);
      if (!leaked) return { seconds: (performance.now() - t0) / 1000, leakedNavigations: n - 1 };
    }
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

async function main(): Promise<void> {
  const out = mkdtempSync(path.join(tmpdir(), 'kontor-rules-bench-'));
  const compiled = await compileRules({ outDir: out });
  rmSync(out, { recursive: true, force: true });
  const result: Record<string, unknown> = {
    compile_s: Number(compiled.seconds.toFixed(3)),
    total_rules: compiled.totals.rules,
    enabled_rules: compiled.totals.enabledRules,
    regex_rules: compiled.totals.regexRules,
    total_bytes: compiled.totals.bytes,
    total_domains: compiled.totals.domains,
  };
  for (const r of compiled.rulesets) {
    result[`rules_${r.id}`] = r.rules;
    result[`bytes_${r.id}`] = r.bytes;
    result[`domains_${r.id}`] = r.domains;
  }
  if (!existsSync(path.join(EXTENSION, 'manifest.json')) || !existsSync(CHROMIUM)) {
    log(`startup_active_s skipped: needs ${EXTENSION} (npm run build) and ${CHROMIUM}`);
    result.startup_active_s = null;
  } else {
    const { server, port, seen } = await startServer();
    try {
      const runs: number[] = [];
      const leaks: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const r = await startupOnce(port, seen);
        log(
          `startup run ${i + 1}: rules active after ${r.seconds.toFixed(2)} s (${r.leakedNavigations} navigation(s) let trackers through)`,
        );
        runs.push(Number(r.seconds.toFixed(3)));
        leaks.push(r.leakedNavigations);
      }
      result.startup_active_s = median(runs);
      result.startup_runs_s = runs;
      result.startup_leaked_navigations = leaks;
    } finally {
      server.close();
    }
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  log(`bench rules failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
