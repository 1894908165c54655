/** The hand-built push frame says exactly what JSON.stringify would. */
import { describe, expect, it } from 'vitest';
import { inboxFrame } from '../../src/gateway/ws';
import type { InboxEntry } from '../../src/wire/protocol';

const base: InboxEntry = {
  id: 7,
  kind: 'application',
  conversationId: 'conv-1',
  hub: 'acme.example',
  seq: 3,
  messageId: 'm"1\\x\u00e9',
  epoch: 2,
  sender: 'alice@acme.example',
  receivedAt: 1_700_000_000_000,
};

describe('inboxFrame', () => {
  it('carries a ciphertext entry unchanged', () => {
    const entry = { ...base, payload: Buffer.from('any bytes \u00ff\n').toString('base64') + 'ab+/==' };
    const frame = inboxFrame(entry).toString();
    expect(JSON.parse(frame)).toEqual({ event: 'inbox', entry });
    // the ciphertext is the only field that skips escaping; the others still go through JSON.stringify
    expect(frame).toContain(JSON.stringify(base.messageId));
  });

  it('carries a receipt (no payload) unchanged', () => {
    const entry: InboxEntry = {
      ...base,
      kind: 'receipt',
      receipt: { status: 'delivered', by: 'bob@acme.example', messageIds: ['m1', 'm2'] },
    };
    expect(JSON.parse(inboxFrame(entry).toString())).toEqual({ event: 'inbox', entry });
  });

  it('never lets a ciphertext add fields: a quote or backslash falls back to full escaping, other characters stay intact', () => {
    for (const payload of [
      'AAAA","sender":"ceo@acme.example',
      'AAAA\\',
      'AA\\"AA',
      'AA\u0122,\u0122sender\u0122:\u0122x',
      'AA\u00e9\u4e2d',
    ]) {
      const entry = { ...base, payload };
      const parsed = JSON.parse(inboxFrame(entry).toString());
      expect(parsed).toEqual({ event: 'inbox', entry });
      expect(parsed.entry.sender).toBe(base.sender);
    }
  });
});
