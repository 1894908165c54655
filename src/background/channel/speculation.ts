/**
 * A received application message is decrypted with the conversation's state in memory while
 * its records are read (inbox.ts), and shown from that decryption before those reads return.
 *
 * Why it may be shown that early: the state in memory is the one stored (every write of a
 * state puts it there), and the entry is processed under its conversation's lock. A successful
 * decryption with it means the message is authentic (MLS signature and credential checked) and
 * new to that state: a copy already taken in fails, its key having been used and deleted. What
 * the reads add is known in memory for the hub (the conversation's record as this engine last
 * wrote it: a conversation never changes hub), and otherwise only for cases that are never an
 * honest first delivery: a message record under the same id already held (a copy transferred by
 * the browser that linked this one, or a member reusing an id) or a dedup mark without the
 * ratchet having moved. If the reads then keep the message out, the page is told to read the
 * stored history again (`retract`), so what it shows is what is stored.
 */
import type { ClientState } from 'ts-mls';
import type { InboxEntry } from '../../wire/protocol';
import { readCredential, type CredentialError } from './credentials';
import { processIncoming, type Incoming } from './mls';
import { decodePayload } from './payload';
import { authConfig, personOf, unb64, type ChannelEvent, type EngineContext, type Person } from './context';
import type { Payload } from './payload';

export interface Speculation {
  base: ClientState;
  failures: CredentialError[];
  result: Promise<{ ok: Incoming } | { err: unknown }>;
  /** the event already sent to the pages for this message, once decrypted; null if none was */
  shown: Promise<Extract<ChannelEvent, { type: 'message' }> | null>;
}

/**
 * Starts decrypting an application message with the state in memory. ts-mls returns a new state
 * and leaves the old one as it was, so a result thrown away changes nothing.
 */
export function speculate(ctx: EngineContext, e: InboxEntry): Speculation | undefined {
  const base = e.kind === 'application' ? ctx.cache.get(e.conversationId) : undefined;
  if (!base) return undefined;
  const { config, failures } = authConfig(ctx);
  const result = processIncoming({ ...base, clientConfig: config }, unb64(e.payload ?? '')).then(
    (ok) => ({ ok }),
    (err: unknown) => ({ err }),
  );
  const hint = ctx.records.get(e.conversationId);
  // only the conversation's hub orders it: an entry labelled with another is never shown
  const showable = hint !== undefined && hint.status !== 'removed' && hint.hub === e.hub;
  // never rejects: a message that cannot be shown here takes the ordinary path, which reports it
  const shown = showable ? result.then((r) => showDecrypted(ctx, e, base, r)).catch(() => null) : Promise.resolve(null);
  return { base, failures, result, shown };
}

function showDecrypted(ctx: EngineContext, e: InboxEntry, base: ClientState, r: { ok: Incoming } | { err: unknown }) {
  if (!('ok' in r) || r.ok.kind !== 'application' || ctx.cache.get(e.conversationId) !== base) return null;
  const payload = decodePayload(r.ok.message);
  // a revocation changes the conversation: it takes the ordinary path; a payload id other
  // than the entry's is shown only once stored
  if (payload.type === 'revocation' || payload.id !== e.messageId) return null;
  const shown = receivedView(e, personOf(readCredential(r.ok.sender.credential)), payload, ctx.now().getTime());
  ctx.emit(shown);
  return shown;
}

/** The event that shows a received message, from its entry and its opened body. */
export function receivedView(e: InboxEntry, sender: Person, payload: Payload, at: number): Extract<ChannelEvent, { type: 'message' }> {
  return {
    type: 'message',
    conversationId: e.conversationId,
    message: { sender, payload, conversationId: e.conversationId, id: payload.id, at, direction: 'in', state: null, seq: e.seq },
  };
}

/** The message of `spec` was shown but not stored: the pages read the stored history again. */
export async function retract(ctx: EngineContext, spec: Speculation | undefined): Promise<void> {
  const shown = await spec?.shown;
  if (shown) ctx.emit({ type: 'conversation', conversationId: shown.conversationId });
}
