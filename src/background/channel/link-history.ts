/**
 * History transfer when linking (issue 15): the linking browser sends the decrypted text of
 * its conversations, newest first, in at most LINK.historyChunks sealed chunks; the new browser
 * stores each message sealed like its own history, marked as transferred, under the
 * conversation it belongs to, where it shows once the new browser has joined that conversation.
 */
import { LINK, type HistoryChunk, type HistoryMessage } from '../../wire/link';
import { utf8 } from '../../wire/bytes';
import { messageAad, type MessageBody } from './context';
import type { ChannelDb, MessageRecord } from './db';
import type { ChannelEngine } from './conversation';
import { Keystore } from './keystore';

/** The newest text messages that fit the cap, as chunks of at most LINK.historyChunkBytes. */
export async function historyChunks(engine: ChannelEngine): Promise<HistoryChunk[]> {
  const all: { conv: string; m: HistoryMessage }[] = [];
  for (const c of await engine.conversations()) {
    for (const m of await engine.messages(c.id)) {
      if (m.payload?.type !== 'text' || m.direction === 'event') continue;
      const { deviceId, employeeId, displayName, orgDomain } = m.sender;
      all.push({
        conv: c.id,
        m: { id: m.id, sender: { deviceId, employeeId, displayName, orgDomain }, direction: m.direction, text: m.payload.text, at: m.at },
      });
    }
  }
  all.sort((a, b) => b.m.at - a.m.at);
  const chunks: { conv: string; m: HistoryMessage }[][] = [];
  let size = 0;
  for (const item of all) {
    const bytes = utf8(JSON.stringify(item)).length + 64;
    if (bytes > LINK.historyChunkBytes) continue;
    if (chunks.length === 0 || size + bytes > LINK.historyChunkBytes) {
      if (chunks.length === LINK.historyChunks) break;
      chunks.push([]);
      size = 0;
    }
    chunks.at(-1)!.push(item);
    size += bytes;
  }
  return chunks.map((items) => {
    const byConv = new Map<string, HistoryMessage[]>();
    for (const { conv, m } of items) byConv.set(conv, [...(byConv.get(conv) ?? []), m]);
    return { conversations: [...byConv].map(([id, messages]) => ({ id, messages })) };
  });
}

/** Stores transferred messages sealed, as the engine stores its own (context.ts sealBody). */
export async function storeHistory(db: ChannelDb, chunks: HistoryChunk[]): Promise<number> {
  const ks = await Keystore.open(db);
  const recs: MessageRecord[] = [];
  for (const chunk of chunks) {
    for (const c of chunk.conversations) {
      for (const m of c.messages) {
        const id = `h.${m.id}`;
        const body: MessageBody = {
          sender: { ...m.sender, address: `${m.sender.deviceId}@${m.sender.orgDomain}` },
          payload: { v: 1, type: 'text', id: m.id, text: m.text, sentAt: new Date(m.at).toISOString() },
          transferred: true,
        };
        recs.push({
          conversationId: c.id,
          id,
          at: m.at,
          direction: m.direction,
          body: await ks.sealJson(body, messageAad(c.id, id)),
          state: null,
          seq: null,
        });
      }
    }
  }
  const tx = db.transaction('messages', 'readwrite');
  for (const r of recs) await tx.store.put(r);
  await tx.done;
  return recs.length;
}
