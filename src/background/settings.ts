/**
 * The employee's own settings (storage.local, versioned, repaired on load). The policy
 * decides which of them apply (src/shared/policy/effective.ts).
 */
import * as v from 'valibot';
import { CategorySchema } from '../shared/blocking/categories';
import { browser } from '../shared/browser';
import type { UserSettings } from '../shared/policy/effective';

const KEY = 'settings';
const VERSION = 1;

const Stored = v.object({
  version: v.literal(VERSION),
  categories: v.optional(v.record(CategorySchema, v.boolean())),
  gateway: v.optional(v.pipe(v.string(), v.url())),
  offerNonPartners: v.optional(v.boolean()),
  retentionDays: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3650))),
});

let cache: UserSettings | undefined;

export async function getUserSettings(): Promise<UserSettings> {
  if (cache) return cache;
  const raw = (await browser.storage.local.get(KEY))[KEY];
  const parsed = v.safeParse(Stored, raw);
  // A damaged record falls back to defaults instead of breaking Kontor.
  cache = parsed.success ? parsed.output : {};
  return cache;
}

export async function updateUserSettings(patch: Partial<UserSettings>): Promise<UserSettings> {
  const next = { ...(await getUserSettings()), ...patch };
  await browser.storage.local.set({ [KEY]: { ...next, version: VERSION } });
  cache = next;
  return next;
}
