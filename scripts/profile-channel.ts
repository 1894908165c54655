/**
 * `npx tsx scripts/profile-channel.ts`: where the browser-side stages of the channel
 * bench go (issue 15). The same setup as `npm run bench -- channel` (BENCH_MESSAGES, default
 * 50), with V8's sampling profiler on both service workers and both side panels while the
 * messages flow. Prints per context the functions with the most self time and the most total
 * time, in ms per message. A diagnostic, not a benchmark: profiling slows everything down.
 */
import type { CDPSession, Page } from 'playwright-core';
import { build } from './build';
import { employee, startGatewayPair, type Employee } from '../test/support/channel';
import { openConversation } from './bench/lib/channel-setup';
import { startSiteServer } from '../test/support/site-server';
import { CHROMIUM_EXTENSION_ID } from '../src/shared/ids';

const N = Number(process.env.BENCH_MESSAGES ?? 50);
const TOP = Number(process.env.PROFILE_TOP ?? 25);
type Json = Record<string, unknown>;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A Profiler domain on a session: the page itself, or its extension's service worker. */
interface Profiler {
  call(method: string, params?: Json): Promise<Json>;
}

function onPage(s: CDPSession): Profiler {
  return { call: (method, params) => s.send(method as never, params as never) as Promise<Json> };
}

async function onWorker(e: Employee): Promise<Profiler> {
  const s = await e.browser.ctx.newCDPSession(e.panel);
  const { targetInfos } = (await s.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
  const sw = targetInfos.find((t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${CHROMIUM_EXTENSION_ID}/`));
  if (!sw) throw new Error('no Kontor service worker target');
  const { sessionId } = (await s.send('Target.attachToTarget', { targetId: sw.targetId, flatten: false })) as { sessionId: string };
  let nextId = 1;
  const pending = new Map<number, (r: Json) => void>();
  s.on('Target.receivedMessageFromTarget', (ev: { sessionId: string; message: string }) => {
    if (ev.sessionId !== sessionId) return;
    const m = JSON.parse(ev.message) as { id?: number; result?: Json };
    if (m.id !== undefined) pending.get(m.id)?.(m.result ?? {});
  });
  return {
    call: (method, params = {}) =>
      new Promise<Json>((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        void s.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
      }),
  };
}

/** Self and total ms per function (name + file:line), over the whole profile. */
function summarise(p: Profile, perMessage: number): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => {
    const f = n.callFrame;
    const file = f.url.split('/').slice(-1)[0] || '(native)';
    return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const leaf = byId.get(id)!;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) seen.add(label(n));
    for (const l of seen) total.set(l, (total.get(l) ?? 0) + dt);
  });
  const top = (m: Map<string, number>) =>
    [...m.entries()]
      .filter(([l]) => !l.startsWith('(idle)') && !l.startsWith('(root)') && !l.startsWith('(program)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([l, ms]) => `  ${(ms / perMessage).toFixed(3).padStart(8)} ms/msg  ${l}`)
      .join('\n');
  const busy = [...self.entries()].filter(([l]) => !l.startsWith('(idle)')).reduce((a, [, ms]) => a + ms, 0);
  return `busy ${(busy / perMessage).toFixed(2)} ms/msg (incl. (program) and GC)\n self:\n${top(self)}\n total:\n${top(total)}`;
}

/** Median and p90 of the time between each mark and the next one in the same context. */
function intervals(ms: [string, number][]): string {
  const by = new Map<string, number[]>();
  for (let i = 1; i < ms.length; i++) {
    const k = `${ms[i - 1]![0]} -> ${ms[i]![0]}`;
    by.set(k, [...(by.get(k) ?? []), ms[i]![1] - ms[i - 1]![1]]);
  }
  const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(f * (xs.length - 1))]!;
  return [...by.entries()]
    .filter(([, xs]) => xs.length >= N / 2)
    .map(([k, xs]) => `  ${q(xs, 0.5).toFixed(2).padStart(7)} p50 ${q(xs, 0.9).toFixed(2).padStart(7)} p90 (${xs.length})  ${k}`)
    .join('\n');
}

const site = await startSiteServer();
await build({ quiet: true });
const { acme, globex } = await startGatewayPair(site, { extraArgs: ['--log-level', 'warn'] });
const alice = await employee({ sitePort: site.port, gateway: acme, id: 'alice', name: 'Alice Schmidt', partners: ['globex.example'] });
const gina = await employee({ sitePort: site.port, gateway: globex, id: 'gina', name: 'Gina Rossi', partners: ['acme.example'] });
try {
  await openConversation(alice, gina);
  const pageSession = async (p: Page) => onPage(await p.context().newCDPSession(p));
  const contexts: [string, Profiler][] = [
    ['alice worker', await onWorker(alice)],
    ['alice panel', await pageSession(alice.panel)],
    ['gina worker', await onWorker(gina)],
    ['gina panel', await pageSession(gina.panel)],
  ];
  const marks = Boolean(process.env.PROFILE_MARKS);
  if (marks) {
    await gina.panel.evaluate(() => {
      const seen = new Set<string>();
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('[data-testid=message-text]')) {
          const t = el.textContent ?? '';
          if (seen.has(t)) continue;
          seen.add(t);
          ((globalThis as unknown as { __km: unknown[] }).__km ??= []).push(['P1 dom', performance.timeOrigin + performance.now()]);
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await alice.panel.evaluate(() =>
      document.addEventListener(
        'keydown',
        (e) =>
          e.key === 'Enter' &&
          ((globalThis as unknown as { __km: unknown[] }).__km ??= []).push(['P-1 key', performance.timeOrigin + performance.now()]),
        true,
      ),
    );
    for (const [, p] of contexts) await p.call('Runtime.evaluate', { expression: 'globalThis.__km = []' });
  }
  for (const [, p] of marks ? [] : contexts) {
    await p.call('Profiler.enable');
    await p.call('Profiler.setSamplingInterval', { interval: 100 });
    await p.call('Profiler.start');
  }
  for (let i = 0; i < N; i++) {
    const text = `Profile message ${i}`;
    await alice.panel.getByTestId('composer').fill(text);
    await alice.panel.getByTestId('composer').press('Enter');
    await gina.panel.getByText(text, { exact: true }).waitFor({ timeout: 15_000 });
  }
  if (marks) {
    const all = new Map<string, [string, number][]>();
    for (const [name, p] of contexts) {
      const r = (await p.call('Runtime.evaluate', { expression: 'JSON.stringify(globalThis.__km ?? [])', returnByValue: true })) as {
        result: { value: string };
      };
      all.set(name, JSON.parse(r.result.value) as [string, number][]);
      console.log(`== ${name} marks:\n${intervals(all.get(name)!)}`);
    }
    // both contexts of a side on one clock (performance.timeOrigin + now): the hops between them
    for (const side of ['alice', 'gina']) {
      const merged = [...all.entries()].filter(([n]) => n.startsWith(side)).flatMap(([, m]) => m);
      console.log(`== ${side}, worker and panel merged:\n${intervals(merged.sort((a, b) => a[1] - b[1]))}`);
    }
  }
  for (const [name, p] of marks ? [] : contexts) {
    const { profile } = (await p.call('Profiler.stop')) as { profile: Profile };
    console.log(`== ${name}: ${summarise(profile, N)}\n`);
  }
} finally {
  await Promise.all([alice.browser.close(), gina.browser.close()]);
  await Promise.all([acme.stop(), globex.stop()]);
  await site.close();
}
