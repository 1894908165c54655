/**
 * Typed access to stored records (records.ts): reads are repaired per field against the
 * record's schema (src/shared/repair.ts), with every problem logged by path, so one damaged
 * field never costs the rest of the record. Every access waits for the migrations first.
 * Pure over `Areas`, so unit tests run it on memory; index.ts binds it to browser.storage.
 */
import type * as v from 'valibot';
import { formatProblem, repair } from '../../shared/repair';
import type { Areas } from './area';
import { migrate } from './migrations';
import { FAMILIES, RECORDS, type EntryValue, type FamilyName, type RecordName, type RecordValue } from './records';

export type Store = ReturnType<typeof createStore>;

export function createStore(areas: Areas, warn: (message: string) => void = (m) => console.warn(m)) {
  let migrated: Promise<unknown> | undefined;
  const ready = () => (migrated ??= migrate(areas).catch((e: unknown) => warn(`[kontor] storage migration failed: ${String(e)}`)));

  function check<S extends v.GenericSchema>(what: string, schema: S, raw: unknown): { ok: true; value: v.InferOutput<S> } | { ok: false } {
    if (raw === undefined) return { ok: false };
    const r = repair(schema, raw);
    if (r.problems.length > 0) warn(`[kontor] stored ${what} repaired: ${r.problems.map(formatProblem).join('; ')}`);
    return r;
  }

  return {
    /** Migrates now (at start) instead of on the first access. */
    ready,

    async get<K extends RecordName>(name: K): Promise<RecordValue<K>> {
      await ready();
      const { area, key, schema, fallback } = RECORDS[name];
      const r = check(key, schema, (await areas[area].get(key))[key]);
      return (r.ok ? r.value : fallback()) as RecordValue<K>;
    },

    async set<K extends RecordName>(name: K, value: NonNullable<RecordValue<K>>): Promise<void> {
      await ready();
      const { area, key } = RECORDS[name];
      await areas[area].set({ [key]: value });
    },

    async remove(name: RecordName): Promise<void> {
      await ready();
      const { area, key } = RECORDS[name];
      await areas[area].remove(key);
    },

    async getEntry<F extends FamilyName>(name: F, id: string): Promise<EntryValue<F> | undefined> {
      await ready();
      const { area, prefix, schema } = FAMILIES[name];
      const r = check(prefix + id, schema, (await areas[area].get(prefix + id))[prefix + id]);
      return r.ok ? (r.value as EntryValue<F>) : undefined;
    },

    /** Writes several entries of one family in one storage call. */
    async setEntries<F extends FamilyName>(name: F, entries: Readonly<Record<string, EntryValue<F>>>): Promise<void> {
      await ready();
      const { area, prefix } = FAMILIES[name];
      const items = Object.fromEntries(Object.entries(entries).map(([id, value]) => [prefix + id, value]));
      if (Object.keys(items).length > 0) await areas[area].set(items);
    },

    async removeEntry(name: FamilyName, id: string): Promise<void> {
      await ready();
      const { area, prefix } = FAMILIES[name];
      await areas[area].remove(prefix + id);
    },

    /** Every entry of a family, by id; unusable entries are left out. */
    async entries<F extends FamilyName>(name: F): Promise<Map<string, EntryValue<F>>> {
      await ready();
      const { area, prefix, schema } = FAMILIES[name];
      const out = new Map<string, EntryValue<F>>();
      for (const [key, raw] of Object.entries(await areas[area].get(null))) {
        if (!key.startsWith(prefix)) continue;
        const r = check(key, schema, raw);
        if (r.ok) out.set(key.slice(prefix.length), r.value as EntryValue<F>);
      }
      return out;
    },
  };
}
