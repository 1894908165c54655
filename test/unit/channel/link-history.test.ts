/**
 * History transfer when linking (issue 15): the newest messages go first and the cap holds;
 * what arrives is stored sealed under the conversation, marked as transferred, and opens
 * with the new browser's own at-rest key.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openChannelDb } from '../../../src/background/channel/db';
import { Keystore } from '../../../src/background/channel/keystore';
import { historyChunks, storeHistory } from '../../../src/background/channel/link-history';
import { messageAad } from '../../../src/background/channel/context';
import type { ChannelEngine } from '../../../src/background/channel/conversation';
import { LINK } from '../../../src/wire/link';

const gina = { deviceId: 'g1', employeeId: 'gina', displayName: 'Gina Rossi', orgDomain: 'globex.example', address: 'g1@globex.example' };

/** An engine that has only what historyChunks reads: conversations and their messages. */
function engineWith(n: number, textBytes: number): ChannelEngine {
  const messages = Array.from({ length: n }, (_, i) => ({
    id: `m${i}`,
    at: 1_000 + i,
    direction: 'in' as const,
    sender: gina,
    payload: {
      v: 1 as const,
      type: 'text' as const,
      id: `m${i}`,
      text: `${i} ${'x'.repeat(textBytes)}`,
      sentAt: new Date(1_000 + i).toISOString(),
    },
  }));
  const event = { id: 'e1', at: 5, direction: 'event' as const, sender: gina, event: { kind: 'joined' as const, who: [gina] } };
  return {
    conversations: async () => [{ id: 'c1' }],
    messages: async () => [event, ...messages],
  } as unknown as ChannelEngine;
}

describe('history transfer (issue 15: linking)', () => {
  it('sends the newest text messages first, leaves events out, and stops at the cap', async () => {
    const chunks = await historyChunks(engineWith(400, 8 * 1024));
    expect(chunks.length).toBe(LINK.historyChunks);
    for (const c of chunks) expect(Buffer.byteLength(JSON.stringify(c))).toBeLessThanOrEqual(LINK.historyChunkBytes + 1024);
    const ids = chunks.flatMap((c) => c.conversations.flatMap((x) => x.messages.map((m) => m.id)));
    expect(ids[0]).toBe('m399');
    expect(ids).not.toContain('m0');
    expect(ids).not.toContain('e1');
  });

  it('stores what arrives sealed, under its conversation, marked as transferred', async () => {
    const db = await openChannelDb(`link-history-${Math.random()}`);
    const chunks = await historyChunks(engineWith(3, 10));
    expect(await storeHistory(db, chunks)).toBe(3);
    const stored = await db.getAll('messages');
    expect(stored.map((r) => r.conversationId)).toEqual(['c1', 'c1', 'c1']);
    expect(JSON.stringify(stored[0]!.body)).not.toContain('xxxxxxxxxx');
    const ks = await Keystore.open(db);
    const body = (await ks.openJson(stored[0]!.body, messageAad('c1', stored[0]!.id))) as {
      transferred?: boolean;
      payload: { text: string };
    };
    expect(body.transferred).toBe(true);
    expect(body.payload.text).toMatch(/^\d xxxxxxxxxx$/);
  });
});
