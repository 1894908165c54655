/** Minimal Prometheus text exposition: counters and gauges with optional labels. */
type Labels = Record<string, string>;

const key = (l: Labels) =>
  Object.entries(l)
    .sort()
    .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
    .join(',');

export class Metrics {
  private counters = new Map<string, { help: string; values: Map<string, number> }>();
  private gauges = new Map<string, { help: string; read: () => number }>();

  counter(name: string, help: string): (labels?: Labels, by?: number) => void {
    const c = { help, values: new Map<string, number>() };
    this.counters.set(name, c);
    // the sorted, escaped key is computed once per label combination, not per increment
    const keys = new Map<string, string>();
    return (labels = {}, by = 1) => {
      let raw = '';
      for (const n in labels) raw += n + '\0' + labels[n] + '\0';
      let k = keys.get(raw);
      if (k === undefined) keys.set(raw, (k = key(labels)));
      c.values.set(k, (c.values.get(k) ?? 0) + by);
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
    for (const [name, g] of this.gauges) out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`, `${name} ${g.read()}`);
    return out.join('\n') + '\n';
  }
}
