/**
 * Push events from the background to Kontor's own pages: one discriminated union, sent with
 * `push` (background/page-ports.ts) and received with `onPush` (port.ts), over each page's own
 * port to the background (port.ts): a content script can neither receive nor send them.
 * Requests go the other way (protocol.ts); these carry no reply. A receiver still accepts only
 * events of a known shape.
 */
import type { ChannelMessageView, DeliveryStateView } from './protocol';

export type ChannelPush =
  | { type: 'message'; conversationId: string; message: ChannelMessageView }
  | { type: 'delivery'; conversationId: string; messageId: string; state: NonNullable<DeliveryStateView> }
  /** a conversation's membership, title or epoch changed: reread it */
  | { type: 'conversation'; conversationId: string }
  | { type: 'warning'; conversationId: string }
  /** the gateway connection went up or down */
  | { type: 'status'; conversationId: null };

export type PushEvent =
  | ({ kontor: 1; event: 'channel' } & ChannelPush)
  /** the partner chosen for "Start private contact" changed (contact.pending has it) */
  | { kontor: 1; event: 'contact'; type: 'pending' };

const CHANNEL_TYPES: ReadonlySet<string> = new Set(['message', 'delivery', 'conversation', 'warning', 'status']);

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

/** Shape check of an incoming push event (the sender is checked separately). */
export function isPushEvent(m: unknown): m is PushEvent {
  if (!isRecord(m) || m.kontor !== 1) return false;
  if (m.event === 'contact') return m.type === 'pending';
  if (m.event !== 'channel' || typeof m.type !== 'string' || !CHANNEL_TYPES.has(m.type)) return false;
  if (m.type === 'status') return m.conversationId === null;
  if (typeof m.conversationId !== 'string') return false;
  if (m.type === 'message') return isRecord(m.message) && typeof m.message.id === 'string';
  if (m.type === 'delivery') return typeof m.messageId === 'string' && typeof m.state === 'string';
  return true;
}
