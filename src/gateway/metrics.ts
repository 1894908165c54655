/** Minimal Prometheus text exposition: counters, gauges and histograms with optional labels. */
type Labels = Record<string, string>;

const key = (l: Labels) =>
  Object.entries(l)
    .sort()
    .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
    .join(',');

/** `key`, computed once per label combination a series sees, not on every increment or observation */
function cachedKey(): (l: Labels) => string {
  const keys = new Map<string, string>();
  return (labels) => {
    let raw = '';
    for (const n in labels) raw += n + '\0' + labels[n] + '\0';
    let k = keys.get(raw);
    if (k === undefined) keys.set(raw, (k = key(labels)));
    return k;
  };
}

/**
 * Upper bounds in seconds: fine below 10 ms, where one message's stages (a commit, a
 * federation request on a local network) live, coarse up to the 10 s federation timeout.
 */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10] as const;

interface Series {
  counts: number[];
  sum: number;
  count: number;
}

export class Metrics {
  private counters = new Map<string, { help: string; values: Map<string, number> }>();
  private gauges = new Map<string, { help: string; read: () => number }>();
  private histograms = new Map<string, { help: string; buckets: readonly number[]; series: Map<string, Series> }>();

  counter(name: string, help: string): (labels?: Labels, by?: number) => void {
    const c = { help, values: new Map<string, number>() };
    this.counters.set(name, c);
    const keyOf = cachedKey();
    return (labels = {}, by = 1) => {
      const k = keyOf(labels);
      c.values.set(k, (c.values.get(k) ?? 0) + by);
    };
  }

  /** A histogram of durations; the returned function records one, in seconds. */
  histogram(name: string, help: string, buckets: readonly number[] = LATENCY_BUCKETS): (seconds: number, labels?: Labels) => void {
    const h = { help, buckets, series: new Map<string, Series>() };
    this.histograms.set(name, h);
    const keyOf = cachedKey();
    return (seconds, labels = {}) => {
      const k = keyOf(labels);
      let s = h.series.get(k);
      if (!s) h.series.set(k, (s = { counts: buckets.map(() => 0), sum: 0, count: 0 }));
      // per bucket, not cumulative: render() adds them up
      const i = buckets.findIndex((b) => seconds <= b);
      if (i >= 0) s.counts[i]!++;
      s.sum += seconds;
      s.count++;
    };
  }

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

  render(): string {
    const out: string[] = [];
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      if (c.values.size === 0) out.push(`${name} 0`);
      for (const [k, v] of c.values) out.push(`${name}${k ? `{${k}}` : ''} ${v}`);
    }
    for (const [name, h] of this.histograms) {
      out.push(`# HELP ${name} ${h.help}`, `# TYPE ${name} histogram`);
      for (const [k, s] of h.series) {
        const l = (extra: string) => `{${[k, extra].filter(Boolean).join(',')}}`;
        let below = 0;
        h.buckets.forEach((b, i) => {
          below += s.counts[i]!;
          out.push(`${name}_bucket${l(`le="${b}"`)} ${below}`);
        });
        out.push(
          `${name}_bucket${l('le="+Inf"')} ${s.count}`,
          `${name}_sum${k ? `{${k}}` : ''} ${s.sum}`,
          `${name}_count${k ? `{${k}}` : ''} ${s.count}`,
        );
      }
    }
    for (const [name, g] of this.gauges) out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`, `${name} ${g.read()}`);
    return out.join('\n') + '\n';
  }
}
