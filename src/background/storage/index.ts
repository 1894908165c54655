/**
 * The one module that touches `browser.storage` (the typed store over local and session, the
 * managed policy area, change events). Everything else reads and writes through `storage`.
 */
import { browser } from '../../shared/browser';
import { createStore } from './store';

export const storage = createStore({ local: browser.storage.local, session: browser.storage.session });

export type { EntryValue, RecordValue } from './records';

/**
 * Session storage is readable only by extension pages unless widened; keep it that way
 * (Chromium's default, stated explicitly; Firefox has no access levels).
 */
export async function restrictSessionAccess(): Promise<void> {
  const session = browser.storage.session as { setAccessLevel?(o: { accessLevel: string }): Promise<void> };
  await session.setAccessLevel?.({ accessLevel: 'TRUSTED_CONTEXTS' }).catch(() => undefined);
}

/** The managed (policy) area; null where the browser has none for Kontor. */
export async function readManaged(): Promise<Record<string, unknown> | null> {
  try {
    return await browser.storage.managed.get();
  } catch {
    // Firefox throws when no policy names this extension; Chromium returns {}.
    return null;
  }
}

/** Calls `listener` when the managed policy changes. Register at the background's top level. */
export function onManagedChange(listener: () => void): void {
  browser.storage.onChanged.addListener((_changes, area) => {
    if (area === 'managed') listener();
  });
}
