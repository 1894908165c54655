/**
 * The gateways' own stage timings for the benches: /metrics scraped before and after a run,
 * and each histogram's mean over the run (its _sum and _count differences). A split from the
 * product's own instruments, beside the ones measured from outside.
 */
export type Scrape = Map<string, number>;

/** Every sample line of a Prometheus text exposition, by its series name with labels. */
export async function scrape(metricsPort: number): Promise<Scrape> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Mean milliseconds of a histogram's observations between two scrapes, and how many there were. */
export function meanMs(before: Scrape, after: Scrape, name: string, labels: string): { ms: number; n: number } {
  const diff = (suffix: string) => {
    const k = `${name}_${suffix}{${labels}}`;
    return (after.get(k) ?? 0) - (before.get(k) ?? 0);
  };
  const n = diff('count');
  return { ms: n ? (diff('sum') / n) * 1000 : NaN, n };
}
