/**
 * The employee's own settings (storage.local, repaired per field on load: a bad field falls
 * back to its default, the rest is kept). The policy decides which of them apply
 * (src/shared/policy/effective.ts).
 */
import type { UserSettings } from '../shared/policy/effective';
import { storage } from './storage';

let cache: UserSettings | undefined;

export async function getUserSettings(): Promise<UserSettings> {
  if (cache) return cache;
  const { version: _version, ...settings } = await storage.get('settings');
  cache = settings;
  return cache;
}

export async function updateUserSettings(patch: Partial<UserSettings>): Promise<UserSettings> {
  const next = { ...(await getUserSettings()), ...patch };
  await storage.set('settings', { ...next, version: 1 });
  cache = next;
  return next;
}
