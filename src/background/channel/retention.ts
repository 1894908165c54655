/**
 * The policy's `retentionDays` (docs/admin.md): conversation history older than that is
 * deleted from this browser's IndexedDB. A message still waiting to be sent is kept until it
 * is sent; the replay guard (`seen`) and the group state are not history and stay.
 */
import type { ChannelDb } from './db';

export const DAY_MS = 86_400_000;

/** Deletes messages older than `days` days; returns how many. */
export async function pruneMessages(db: ChannelDb, days: number, now = Date.now()): Promise<number> {
  const cutoff = now - days * DAY_MS;
  const tx = db.transaction('messages', 'readwrite');
  let deleted = 0;
  for (let cursor = await tx.store.openCursor(); cursor; cursor = await cursor.continue()) {
    if (cursor.value.at < cutoff && cursor.value.state !== 'queued') {
      await cursor.delete();
      deleted++;
    }
  }
  await tx.done;
  return deleted;
}
