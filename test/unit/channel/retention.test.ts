import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openChannelDb, type MessageRecord } from '../../../src/background/channel/db';
import { DAY_MS, pruneMessages } from '../../../src/background/channel/retention';

const NOW = Date.UTC(2026, 11, 5);

function message(conversationId: string, id: string, ageDays: number, state: MessageRecord['state'] = null): MessageRecord {
  return {
    conversationId,
    id,
    at: NOW - ageDays * DAY_MS,
    direction: 'in',
    body: { iv: new Uint8Array(12), ct: new Uint8Array(4) },
    state,
    seq: null,
  };
}

describe('retentionDays', () => {
  it('deletes messages older than N days from IndexedDB, in every conversation, and keeps the rest', async () => {
    const db = await openChannelDb(`retention-${Math.random()}`);
    const all = [
      message('c1', 'old', 31),
      message('c1', 'edge', 30),
      message('c1', 'new', 1),
      message('c2', 'old', 400),
      message('c2', 'unsent', 90, 'queued'),
      message('c2', 'sent', 90, 'sent'),
    ];
    for (const m of all) await db.put('messages', m);
    await db.put('seen', { conversationId: 'c2', messageId: 'old', at: NOW - 400 * DAY_MS });

    expect(await pruneMessages(db, 30, NOW)).toBe(3);
    const left = (await db.getAll('messages')).map((m) => `${m.conversationId}/${m.id}`).sort();
    expect(left).toEqual(['c1/edge', 'c1/new', 'c2/unsent']);
    // The replay guard is not history: a replayed old message must still be recognised.
    expect(await db.count('seen')).toBe(1);
    expect(await pruneMessages(db, 30, NOW)).toBe(0);
    db.close();
  });
});
