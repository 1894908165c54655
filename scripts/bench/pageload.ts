/**
 * `npm run bench -- pageload`: median page-load time (navigation start to load event end) in
 * headless Chromium with Kontor (dist/chromium) vs without any extension, alternating runs,
 * on the fixture business site's clean.html (20 first-party resources, no trackers) and
 * heavy.html (the same plus 30 trackers). Tracker hosts answer after a fixed per-URL delay of
 * 30-80 ms (as third parties on the real web are slower than the site itself); first-party
 * resources answer at once. Keys: `ratio_clean`, `ratio_trackers` (with / without Kontor),
 * pooled over KONTOR_BENCH_ROUNDS (6) pairs of freshly launched browsers with
 * KONTOR_BENCH_RUNS (9) alternating loads each, the spread of the per-round ratios, and the
 * 1-minute load average at start and end (`loadavg_start`, `loadavg_end`): on a busy machine
 * ratio_trackers drifts towards 1 (docs/blocking.md).
 *
 * Why rounds: one browser instance keeps its own speed for its whole life. The same browser
 * against itself (KONTOR_BENCH_EXTENSION=none) gave 1.002 and 1.092 in two runs of 61 loads
 * in one pair of browsers, and 0.997 and 0.985 with 16 fresh pairs of 9 loads.
 * KONTOR_BENCH_EXTENSION / KONTOR_BENCH_BASELINE replace either side with another extension
 * directory, 'none', or a control extension (see CONTROLS) to measure what merely having an
 * extension of that kind costs. KONTOR_BENCH_PAGES=clean measures one page only.
 * With the default sides two more parts follow, both on the clean page only:
 * - `floor_clean`: an extension that only holds the declarativeNetRequest permission (no rules,
 *   no code) against none, over KONTOR_BENCH_FLOOR_ROUNDS (4; 0 skips it) rounds. Chromium
 *   proxies every request once any extension holds that permission, so no DNR blocker
 *   measures below it.
 * - `kontor_over_floor_clean`: Kontor against that same permission-only extension directly,
 *   both sides in every round, over KONTOR_BENCH_DIRECT_ROUNDS (24; 0 skips it) rounds: the
 *   geometric mean of the rounds' ratios (each round's median over median), with
 *   `kontor_over_floor_clean_ci95`, a 95% bootstrap interval that resamples whole rounds (a
 *   round's loads share its browsers' speed; even and odd rounds, which swap the sides' order,
 *   are resampled separately, as the design balances them). Two separate ratios against no extension each
 *   carry their own rounds' scatter (about 0.3 wide); the direct pair cancels what both sides
 *   share. KONTOR_BENCH_DIRECT=A,B replaces the two sides (`kontor`, `none`, a control, a
 *   directory) and also runs this part when KONTOR_BENCH_EXTENSION or _BASELINE is set:
 *   `kontor,kontor` and `control:dnr,control:dnr` check that the method itself reads ~1.00.
 * To keep a default run as long as before (16 Kontor and 8 floor rounds), the Kontor-vs-none
 * part has 6 rounds and the floor 4, and the direct part gets the time that was cut: in a run
 * at load average 15 a round of both pages took about 56 s with its launches and a clean-page
 * round about 30 s, so 16 x 56 + 8 x 30 = 1,136 s before against 6 x 56 + 4 x 30 + 24 x 30 =
 * 1,176 s now (the old default took about 10 minutes on a quiet machine). Round counts stay even: odd rounds swap
 * the sides' order. KONTOR_BENCH_ROUNDS=0 skips the Kontor-vs-none part. KONTOR_BENCH_SAMPLES=FILE writes
 * the direct part's loads per round (JSON) for analysis.
 * Progress on stderr; the last stdout line is one JSON object.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { RequestListener } from 'node:http';
import path from 'node:path';
import { launchChromium, type ChromiumSession } from '../../test/support/chromium';
import { distChromium } from '../../test/support/paths';
import { listenDual } from '../../test/support/site-server';
import { REPO_ROOT } from '../rules/compile';
import { bootstrapCi, median } from './lib/stats';

const ROUNDS = Number(process.env.KONTOR_BENCH_ROUNDS ?? 6);
const FLOOR_ROUNDS = 4;
const DIRECT_ROUNDS = 24;
const RUNS = Number(process.env.KONTOR_BENCH_RUNS ?? 9);
const WARMUP = 2;
const SITE = 'www.business.example';
const SITES = path.join(REPO_ROOT, 'test/fixtures/sites');
const log = (s: string): void => void process.stderr.write(`${s}\n`);

/** 30-80 ms, fixed per URL so both browsers see the same delays. */
function trackerDelay(url: string): number {
  return 30 + (createHash('sha256').update(url).digest()[0]! % 51);
}

/** One port for http and https (Chromium's host-resolver rules map both to it). */
async function startServer(): Promise<{ port: number; trackerHits: () => number; close(): void }> {
  let hits = 0;
  const handler: RequestListener = (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const url = new URL(req.url ?? '/', `http://${host}`);
    const file = path.join(SITES, host, url.pathname);
    const type = url.pathname.endsWith('.js')
      ? 'text/javascript'
      : url.pathname.endsWith('.css')
        ? 'text/css'
        : url.pathname.endsWith('.html')
          ? 'text/html'
          : 'image/gif';
    const send = () => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', 'access-control-allow-origin': '*' });
      res.end(
        host === SITE && existsSync(file)
          ? readFileSync(file)
          : type === 'image/gif'
            ? Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64')
            : '',
      );
    };
    if (host === SITE) return send();
    hits++;
    setTimeout(send, trackerDelay(url.href));
  };
  const listener = await listenDual(handler);
  return { port: listener.port, trackerHits: () => hits, close: () => void listener.close() };
}

/** Minimal extensions that show what merely having an extension of a kind costs. */
const CONTROLS: Record<string, object> = {
  // nothing but a manifest
  'control:bare': {},
  // allowed to use declarativeNetRequest, with no rules at all
  'control:dnr': { permissions: ['declarativeNetRequest'] },
  // the same with access to every site's requests
  'control:dnr-hosts': { permissions: ['declarativeNetRequest'], host_permissions: ['<all_urls>'] },
  // the same with one static rule that never matches the test pages
  'control:dnr-1rule': {
    permissions: ['declarativeNetRequest'],
    declarative_net_request: { rule_resources: [{ id: 'one', enabled: true, path: 'rules.json' }] },
  },
  // the same with an (empty) service worker
  'control:dnr-sw': { permissions: ['declarativeNetRequest'], background: { service_worker: 'sw.js' } },
};
function control(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kontor-control-'));
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ manifest_version: 3, name, version: '1.0', ...CONTROLS[name] }));
  writeFileSync(path.join(dir, 'sw.js'), '');
  writeFileSync(
    path.join(dir, 'rules.json'),
    JSON.stringify([{ id: 1, action: { type: 'block' }, condition: { requestDomains: ['tracker.invalid'] } }]),
  );
  return dir;
}

async function loadOnce(session: ChromiumSession, url: string): Promise<number> {
  const page = await session.ctx.newPage();
  await page.goto(url, { waitUntil: 'load' });
  const ms = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    return nav.loadEventEnd - nav.startTime;
  });
  await page.close();
  return ms;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** One side of the comparison: how to launch its browser. */
interface Side {
  dir: string | null;
  kontor: boolean;
}

async function launch(side: Side, port: number): Promise<ChromiumSession> {
  const session = await launchChromium({ sitePort: port, extensionDir: side.dir });
  // Kontor opens its welcome page once on install; the employee reads and closes it. Left open
  // it would be one more tab in one browser only, so both browsers start from one blank tab.
  if (side.kontor) {
    const isWelcome = (p: import('playwright-core').Page) => p.url().startsWith('chrome-extension://');
    const welcome =
      session.ctx.pages().find(isWelcome) ??
      (await session.ctx.waitForEvent('page', { predicate: isWelcome, timeout: 20_000 }).catch(() => null));
    await welcome?.close();
  }
  return session;
}

type PageName = 'clean' | 'trackers';
const PAGES: Record<PageName, string> = { clean: `http://${SITE}/clean.html`, trackers: `http://${SITE}/heavy.html` };
interface Samples {
  a: number[];
  b: number[];
  /** Per round: median(a) / median(b). */
  rounds: number[];
  /** Per round: its loads of each side, for the bootstrap over rounds. */
  perRound: { a: number[]; b: number[] }[];
}

/** The figure every ratio key reports: pooled median of side a over pooled median of side b. */
const geomean = (xs: number[]): number => Math.exp(xs.reduce((sum, x) => sum + Math.log(x), 0) / xs.length);
const pooledRatio = (rounds: { a: number[]; b: number[] }[]): number =>
  median(rounds.flatMap((r) => r.a)) / median(rounds.flatMap((r) => r.b));

/** `rounds` pairs of freshly launched browsers, `RUNS` alternating loads of each page per pair. */
async function measure(
  sides: [Side, Side],
  names: PageName[],
  rounds: number,
  port: number,
  label: string,
): Promise<Record<string, Samples>> {
  const samples: Record<string, Samples> = Object.fromEntries(names.map((n) => [n, { a: [], b: [], rounds: [], perRound: [] }]));
  for (let round = 0; round < rounds; round++) {
    // A browser instance has its own lasting speed, so every round launches both afresh, in
    // alternating order, and the figures pool over all rounds.
    // Odd rounds swap every order between the sides (launch, warm-up, which load of a pair
    // comes first), so a pair of rounds gives neither side a head start; with an odd RUNS one
    // side otherwise always led one pair more than the other.
    const flip = round % 2 === 1;
    const [first, second] = flip ? [1, 0] : [0, 1];
    const started = Date.now();
    const browsers: ChromiumSession[] = [];
    browsers[first] = await launch(sides[first]!, port);
    browsers[second] = await launch(sides[second]!, port);
    const [withExt, without] = browsers as [ChromiumSession, ChromiumSession];
    try {
      for (const name of names) {
        const url = PAGES[name];
        for (let i = 0; i < WARMUP; i++) {
          await loadOnce(flip ? without : withExt, url);
          await loadOnce(flip ? withExt : without, url);
        }
        const a: number[] = [];
        const b: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          // Alternate which browser goes first so drift (CPU, caches) hits both alike.
          if ((i % 2 === 0) !== flip) {
            a.push(await loadOnce(withExt, url));
            b.push(await loadOnce(without, url));
          } else {
            b.push(await loadOnce(without, url));
            a.push(await loadOnce(withExt, url));
          }
        }
        const s = samples[name]!;
        s.a.push(...a);
        s.b.push(...b);
        s.rounds.push(median(a) / median(b));
        s.perRound.push({ a, b });
        log(
          `${label} round ${round + 1}/${rounds} ${name}: with ${median(a).toFixed(1)} ms, without ${median(b).toFixed(1)} ms, ratio ${(median(a) / median(b)).toFixed(3)}`,
        );
      }
    } finally {
      await withExt.close();
      await without.close();
    }
    log(`${label} round ${round + 1}/${rounds} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return samples;
}

const KONTOR = 'kontor';
/** A side named in the environment: 'kontor' (dist/chromium), 'none', one of CONTROLS, or a directory. */
function side(name: string): Side {
  if (name === KONTOR) return { dir: distChromium, kontor: true };
  if (name === 'none') return { dir: null, kontor: false };
  return { dir: name in CONTROLS ? control(name) : name, kontor: false };
}

async function main(): Promise<void> {
  const server = await startServer();
  const env = process.env;
  // Controls for the method: KONTOR_BENCH_EXTENSION replaces Kontor and KONTOR_BENCH_BASELINE
  // the extension-free browser; KONTOR_BENCH_DIRECT=A,B the two sides of the direct part.
  const defaults = env.KONTOR_BENCH_EXTENSION === undefined && env.KONTOR_BENCH_BASELINE === undefined;
  const sides: [Side, Side] = [side(env.KONTOR_BENCH_EXTENSION ?? KONTOR), side(env.KONTOR_BENCH_BASELINE ?? 'none')];
  const only = env.KONTOR_BENCH_PAGES?.split(',');
  const names = (Object.keys(PAGES) as PageName[]).filter((n) => !only || only.includes(n));
  const clean = names.includes('clean');
  // The floor: what merely holding the declarativeNetRequest permission costs the clean page
  // (Chromium then proxies every request; docs/blocking.md), measured in the same run.
  const floorRounds = defaults && clean ? Number(env.KONTOR_BENCH_FLOOR_ROUNDS ?? FLOOR_ROUNDS) : 0;
  const direct = (env.KONTOR_BENCH_DIRECT ?? `${KONTOR},control:dnr`).split(',');
  const directRounds =
    (defaults || env.KONTOR_BENCH_DIRECT !== undefined) && clean ? Number(env.KONTOR_BENCH_DIRECT_ROUNDS ?? DIRECT_ROUNDS) : 0;
  // ratio_trackers depends on how loaded the machine is (docs/blocking.md), so the run records it
  const result: Record<string, number | number[] | string> = { runs: RUNS * ROUNDS, rounds: ROUNDS, loadavg_start: r3(os.loadavg()[0]!) };
  try {
    if (ROUNDS > 0) {
      const samples = await measure(sides, names, ROUNDS, server.port, 'kontor');
      for (const name of names) {
        const s = samples[name]!;
        const [ma, mb] = [median(s.a), median(s.b)];
        log(
          `${name}: with median ${ma.toFixed(1)} ms, without ${mb.toFixed(1)} ms, ratio ${(ma / mb).toFixed(3)} (rounds ${s.rounds.map((r) => r.toFixed(3)).join(' ')})`,
        );
        result[`${name}_with_ms`] = r3(ma);
        result[`${name}_without_ms`] = r3(mb);
        result[`ratio_${name}`] = r3(ma / mb);
        result[`ratio_${name}_rounds_min`] = r3(Math.min(...s.rounds));
        result[`ratio_${name}_rounds_max`] = r3(Math.max(...s.rounds));
      }
    }
    if (floorRounds > 0) {
      const floor = (await measure([side('control:dnr'), side('none')], ['clean'], floorRounds, server.port, 'floor')).clean!;
      const ratio = pooledRatio(floor.perRound);
      log(
        `floor (declarativeNetRequest permission only) clean: ratio ${ratio.toFixed(3)} (rounds ${floor.rounds.map((r) => r.toFixed(3)).join(' ')})`,
      );
      result.floor_clean = r3(ratio);
      result.floor_clean_rounds = floorRounds;
    }
    if (directRounds > 0) {
      // Kontor against the floor itself, side by side in every round: the figure the issue's
      // "within 0.02 of the floor" asks for, without the scatter of two separate ratios.
      const pair: [Side, Side] = [side(direct[0]!), side(direct[1]!)];
      const d = (await measure(pair, ['clean'], directRounds, server.port, 'direct')).clean!;
      // Paired: each round's ratio is taken under that round's conditions, and the figure is
      // their geometric mean. Pooling the loads of all rounds instead (as ratio_clean does) lets
      // a round in which the machine was busy weigh in on one side only: Kontor against itself
      // read 0.923 pooled and 0.970 paired over the same 16 rounds.
      const ratio = geomean(d.rounds);
      // Odd rounds swap the sides' order (measure): resample even and odd rounds each on their own
      const ci = bootstrapCi(d.rounds, geomean, { stratum: (_, i) => String(i % 2) }).map(r3);
      if (env.KONTOR_BENCH_SAMPLES) writeFileSync(env.KONTOR_BENCH_SAMPLES, JSON.stringify({ sides: direct, rounds: d.perRound }));
      log(
        `direct (${direct.join(' over ')}) clean: ratio ${ratio.toFixed(3)}, 95% interval [${ci.join(', ')}] (rounds ${d.rounds.map((r) => r.toFixed(3)).join(' ')})`,
      );
      if (env.KONTOR_BENCH_DIRECT !== undefined) result.direct_sides = direct.join(',');
      result.kontor_over_floor_clean = r3(ratio);
      result.kontor_over_floor_clean_ci95 = ci;
      result.kontor_over_floor_clean_pooled = r3(pooledRatio(d.perRound));
      result.kontor_over_floor_clean_rounds = directRounds;
      result.kontor_over_floor_clean_rounds_min = r3(Math.min(...d.rounds));
      result.kontor_over_floor_clean_rounds_max = r3(Math.max(...d.rounds));
    }
  } finally {
    server.close();
  }
  result.loadavg_end = r3(os.loadavg()[0]!);
  console.log(JSON.stringify(result));
}

await main();
