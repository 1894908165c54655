/**
 * The client checks what the gateway sends before the extension acts on it: the own gateway is
 * not trusted to send well-formed entries (THREATS.md). A scripted gateway stands in for it.
 */
import { describe, expect, it } from 'vitest';
import { KontorClient } from '../../src/wire/client';
import { generateKeyPair } from '../../src/wire/ed25519';
import type { PushEvent } from '../../src/wire/protocol';

const entry = (id: number, extra: Record<string, unknown> = {}) => ({
  id,
  kind: 'application',
  conversationId: 'c1',
  hub: 'acme.example',
  seq: id,
  messageId: `m${id}`,
  epoch: 1,
  sender: 'd1@acme.example',
  payload: 'AAAA',
  receivedAt: 1,
  ...extra,
});

/** A WebSocket that plays the gateway's handshake, answers inbox.fetch with `page`, and lets the test push frames. */
function scriptedGateway(page: unknown[]) {
  let socket: { onmessage?: (e: { data: string }) => void } | null = null;
  class FakeSocket {
    onmessage?: (e: { data: string }) => void;
    onclose?: () => void;
    onerror?: () => void;
    constructor() {
      socket = this;
      queueMicrotask(() => this.onmessage?.({ data: JSON.stringify({ type: 'challenge', nonce: 'n', domain: 'acme.example' }) }));
    }
    send(data: string) {
      const m = JSON.parse(data);
      const answer = (x: unknown) => queueMicrotask(() => this.onmessage?.({ data: JSON.stringify(x) }));
      if (m.type === 'auth') answer({ type: 'ready', deviceId: 'd1', address: 'd1@acme.example' });
      else if (m.method === 'inbox.fetch') answer({ id: m.id, result: { entries: page } });
    }
    close() {}
  }
  return { Ctor: FakeSocket, push: (x: unknown) => socket!.onmessage!({ data: JSON.stringify(x) }) };
}

async function connect(page: unknown[] = []) {
  const gw = scriptedGateway(page);
  const key = await generateKeyPair();
  const client = await KontorClient.connect({
    gatewayUrl: 'https://gw.acme.example',
    certificate: { deviceId: 'd1' } as never,
    deviceKey: key.privateKey,
    WebSocket: gw.Ctor as never,
  });
  return { client, push: gw.push };
}

describe('KontorClient: what the gateway sends is checked', () => {
  it('hands well-formed pushes to listeners and drops malformed ones', async () => {
    const { client, push } = await connect();
    const seen: PushEvent[] = [];
    client.onEvent((e) => seen.push(e));
    push({ event: 'inbox', entry: entry(1) });
    push({ event: 'inbox', entry: { ...entry(2), id: 'two' } });
    push({ event: 'inbox', entry: { ...entry(3), conversationId: { toString: null } } });
    push({ event: 'inbox', entry: { ...entry(4), kind: 'exploit' } });
    push({ event: 'inbox' });
    push({ event: 'revoked' });
    push({ event: 'something-new' });
    expect(seen.map((e) => (e.event === 'inbox' ? e.entry.id : e.event))).toEqual([1, 'revoked']);
  });

  it('leaves malformed entries out of a fetched page', async () => {
    const { client } = await connect([
      entry(1),
      { ...entry(2), seq: -1 },
      null,
      { ...entry(3), receipt: { status: 'read', by: 'x', messageIds: [] } },
      entry(4),
    ]);
    expect((await client.fetchInbox(0)).entries.map((e) => e.id)).toEqual([1, 4]);
  });
});
