/**
 * What this browser knows about a conversation beyond MLS: the partner contact it was opened
 * with (only the side that opened it knows) and when its members were last synced.
 * Kept in storage.local; neither is secret.
 */
import { browser } from '../../shared/browser';

export interface ConversationMeta {
  partnerDomain: string | null;
  contact: string | null;
}

const metaKey = (id: string) => `conv:${id}`;
const syncKey = (id: string) => `sync:${id}`;

export async function readMeta(id: string): Promise<ConversationMeta | undefined> {
  return (await browser.storage.local.get(metaKey(id)))[metaKey(id)] as ConversationMeta | undefined;
}

/** Records a conversation this browser opened; its members count as synced now. */
export async function saveOpenedMeta(id: string, meta: ConversationMeta): Promise<void> {
  await browser.storage.local.set({ [metaKey(id)]: meta, [syncKey(id)]: Date.now() });
}

export async function lastSync(id: string): Promise<number> {
  return ((await browser.storage.local.get(syncKey(id)))[syncKey(id)] as number | undefined) ?? 0;
}

export async function markSynced(id: string): Promise<void> {
  await browser.storage.local.set({ [syncKey(id)]: Date.now() });
}
