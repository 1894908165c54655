import { readdirSync, readFileSync } from 'node:fs';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
export const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
export function rssMb(pid: number): number {
  // VmRSS from /proc: the resident memory of that process alone
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
export const log = (...a: unknown[]) => process.stderr.write(a.map(String).join(' ') + '\n');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The fields of /proc/PID/stat after the command name: [1] parent pid, [11] + [12] CPU ticks. */
const statOf = (pid: number | string) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');

/** CPU ticks (user + system, 1/100 s) a process has used so far, from /proc/PID/stat. */
function ticksOf(pid: number | string): number {
  const f = statOf(pid);
  return Number(f[11]) + Number(f[12]);
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  return ticksOf(pid) / 100;
}

/** CPU ticks (user + system, 1/100 s) of every process now, by pid, with its parent and command line. */
export function processTicks(): Map<number, { ticks: number; ppid: number; cmd: string }> {
  const out = new Map<number, { ticks: number; ppid: number; cmd: string }>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const f = statOf(p);
      out.set(Number(p), {
        ticks: Number(f[11]) + Number(f[12]),
        ppid: Number(f[1]),
        cmd: readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' '),
      });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((x, y) => x + y, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

/**
 * Where the CPU went between two snapshots, in CPU seconds per kind of process (classified by
 * command line), and how busy the whole machine was (0..1 of all cores). Only this process and
 * its descendants count: on a shared machine another run's PostgreSQL or gateway has the same
 * command line.
 */
export function cpuSplit(
  a: { procs: ReturnType<typeof processTicks>; machine: ReturnType<typeof machineTicks> },
  kinds: Record<string, RegExp>,
): Record<string, number> {
  const procs = processTicks();
  const machine = machineTicks();
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = procs.get(p)?.ppid ?? 0, hops++) if (p === process.pid) return true;
    return false;
  };
  const out: Record<string, number> = {};
  for (const [pid, p] of procs) {
    if (!ours(pid)) continue;
    const kind = Object.entries(kinds).find(([, re]) => re.test(p.cmd))?.[0];
    if (!kind) continue;
    out[kind] = (out[kind] ?? 0) + (p.ticks - (a.procs.get(pid)?.ticks ?? 0)) / 100;
  }
  out.machine_busy = (machine.busy - a.machine.busy) / (machine.total - a.machine.total);
  return out;
}
export const cpuSnapshot = () => ({ procs: processTicks(), machine: machineTicks() });

/** A small seeded generator (mulberry32), so a bootstrap gives the same interval on a rerun. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Percentile bootstrap interval of `stat` over `groups`, resampling whole groups (e.g. rounds
 * of one pair of browsers): samples within a group share that group's conditions, so they are
 * not independent of each other and resampling them one by one would understate the spread.
 * `stratum` keeps a balanced design balanced: each resample draws, within every stratum, as many
 * groups as it holds (the pageload bench alternates which browser of a round starts first).
 */
export function bootstrapCi<G>(
  groups: G[],
  stat: (sample: G[]) => number,
  options: { level?: number; resamples?: number; seed?: number; stratum?: (group: G, index: number) => string } = {},
): [number, number] {
  const { level = 0.95, resamples = 10_000, seed = 1, stratum = () => '' } = options;
  if (groups.length === 0) return [NaN, NaN];
  const strata = new Map<string, G[]>();
  groups.forEach((g, i) => {
    const key = stratum(g, i);
    strata.set(key, [...(strata.get(key) ?? []), g]);
  });
  const rand = seededRandom(seed);
  const values: number[] = [];
  for (let i = 0; i < resamples; i++) {
    const sample = [...strata.values()].flatMap((s) => Array.from({ length: s.length }, () => s[Math.floor(rand() * s.length)]!));
    values.push(stat(sample));
  }
  values.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return [values[Math.floor(tail * (resamples - 1))]!, values[Math.ceil((1 - tail) * (resamples - 1))]!];
}
