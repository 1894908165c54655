/**
 * Ordered migrations of stored records, as channel/db.ts migrates IndexedDB: the storage
 * version (a number in storage.local) says how many have run. Append only; each step must be
 * safe to run again after an interruption (the version is written after the step).
 */
import type { Area, Areas } from './area';

export const VERSION_KEY = 'storage:version';

async function renameKeys(area: Area, rename: (key: string) => string | undefined): Promise<void> {
  const all = await area.get(null);
  const moved: Record<string, unknown> = {};
  const old: string[] = [];
  for (const [key, value] of Object.entries(all)) {
    const next = rename(key);
    if (next === undefined || next === key) continue;
    // A value already under the new key is newer: keep it.
    if (!Object.hasOwn(all, next)) moved[next] = value;
    old.push(key);
  }
  if (old.length === 0) return;
  await area.set(moved);
  await area.remove(old);
}

function prefixes(map: readonly (readonly [string, string])[]): (key: string) => string | undefined {
  return (key) => {
    for (const [from, to] of map) if (key.startsWith(from)) return to + key.slice(from.length);
    return undefined;
  };
}

export const MIGRATIONS: readonly ((areas: Areas) => Promise<void>)[] = [
  // 1: every key names its feature. Before: `partners`, `manifest:D`, `conv:C`, `sync:C`, and
  // the detector's per-tab `tab:N` beside blocking's `blocking:tab:N`.
  async ({ local, session }) => {
    const directory = (key: string) => (key === 'partners' ? 'partners:directory' : undefined);
    const local1 = prefixes([
      ['manifest:', 'partners:manifest:'],
      ['conv:', 'channel:conv:'],
      ['sync:', 'channel:sync:'],
    ]);
    await renameKeys(local, (key) => directory(key) ?? local1(key));
    await renameKeys(session, prefixes([['tab:', 'partners:tab:']]));
  },
];

/** Runs the migrations not yet run; returns the version reached. */
export async function migrate(areas: Areas, steps = MIGRATIONS): Promise<number> {
  const raw = (await areas.local.get(VERSION_KEY))[VERSION_KEY];
  let version = typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 ? raw : 0;
  // A newer build wrote this storage: leave it alone rather than guess.
  if (version > steps.length) return version;
  for (; version < steps.length; version++) {
    await steps[version]!(areas);
    await areas.local.set({ [VERSION_KEY]: version + 1 });
  }
  return version;
}
