/**
 * What this browser knows about a conversation beyond MLS: the partner contact it was opened
 * with (only the side that opened it knows) and when its members were last synced.
 * Kept in storage.local; neither is secret.
 */
import { storage, type EntryValue } from '../storage';

export type ConversationMeta = EntryValue<'conversation'>;

export function readMeta(id: string): Promise<ConversationMeta | undefined> {
  return storage.getEntry('conversation', id);
}

/** Records a conversation this browser opened; its members count as synced now. */
export async function saveOpenedMeta(id: string, meta: ConversationMeta): Promise<void> {
  // Sync time first: a meta without it would only cause one early member sync.
  await markSynced(id);
  await storage.setEntries('conversation', { [id]: meta });
}

export async function lastSync(id: string): Promise<number> {
  return (await storage.getEntry('lastSync', id)) ?? 0;
}

export async function markSynced(id: string): Promise<void> {
  await storage.setEntries('lastSync', { [id]: Date.now() });
}
