import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { isPushEvent } from '../../src/shared/events';
import { MAX_TEXT_CHARS, protocol } from '../../src/shared/protocol';
import { decodePayload, encodePayload, MAX_PAYLOAD_BYTES, textPayload } from '../../src/background/channel/payload';
import { utf8 } from '../../src/wire/bytes';

describe('push events', () => {
  it('accepts each event the background sends', () => {
    const message = {
      id: 'm1',
      at: 1,
      direction: 'in',
      state: null,
      sender: { displayName: 'A', orgDomain: 'a.example', employeeId: 'a', deviceId: 'd' },
      text: 'hi',
      event: null,
    };
    expect(isPushEvent({ kontor: 1, event: 'channel', type: 'message', conversationId: 'c1', message })).toBe(true);
    expect(isPushEvent({ kontor: 1, event: 'channel', type: 'delivery', conversationId: 'c1', messageId: 'm1', state: 'sent' })).toBe(true);
    expect(isPushEvent({ kontor: 1, event: 'channel', type: 'conversation', conversationId: 'c1' })).toBe(true);
    expect(isPushEvent({ kontor: 1, event: 'channel', type: 'status', conversationId: null })).toBe(true);
    expect(isPushEvent({ kontor: 1, event: 'contact', type: 'pending' })).toBe(true);
  });

  it('rejects requests, foreign messages and malformed events', () => {
    expect(isPushEvent({ kontor: 1, kind: 'channel.list', params: {} })).toBe(false);
    expect(isPushEvent({ event: 'channel', type: 'status', conversationId: null })).toBe(false);
    expect(isPushEvent({ kontor: 1, event: 'channel', type: 'nonsense', conversationId: 'c1' })).toBe(false);
    expect(isPushEvent({ kontor: 1, event: 'channel', type: 'message', conversationId: 'c1' })).toBe(false);
    expect(isPushEvent({ kontor: 1, event: 'channel', type: 'delivery', conversationId: 'c1', messageId: 5, state: 'sent' })).toBe(false);
    expect(isPushEvent({ kontor: 1, event: 'channel', type: 'conversation', conversationId: null })).toBe(false);
    expect(isPushEvent(null)).toBe(false);
  });
});

describe('message length limit', () => {
  it('the longest text the composer may send fits the payload cap, even when every character is escaped', () => {
    const worst = '\u0001'.repeat(MAX_TEXT_CHARS);
    expect(v.safeParse(protocol['channel.send'].params, { conversationId: 'c1', text: worst }).success).toBe(true);
    const bytes = encodePayload(textPayload(worst));
    expect(bytes.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(decodePayload(bytes).type).toBe('text');
  });

  it('one character more is refused by the protocol and by the payload decoder alike', () => {
    const long = 'x'.repeat(MAX_TEXT_CHARS + 1);
    expect(v.safeParse(protocol['channel.send'].params, { conversationId: 'c1', text: long }).success).toBe(false);
    const p = { ...textPayload('x'), text: long };
    expect(() => decodePayload(utf8(JSON.stringify(p)))).toThrow(expect.objectContaining({ code: 'invalid' }));
  });
});
