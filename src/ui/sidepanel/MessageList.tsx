/**
 * The messages of a conversation with their day headings, rendered in blocks: a new message
 * or a delivery update renders its own block only, not the whole history again (rendering
 * every message per incoming one made the text appear later the longer the conversation).
 */
import { memo } from 'preact/compat';
import type { ChannelMessageView } from '../../shared/protocol';
import { t, uiLang, type MessageKey } from '../i18n';

const stateKey: Record<string, MessageKey> = {
  queued: 'stateQueued',
  sent: 'stateSent',
  partner: 'statePartner',
  delivered: 'stateDelivered',
};

// Formatters are built once: constructing Intl formatters per message per render made long
// conversations render slowly.
const dayFormat = new Intl.DateTimeFormat(uiLang(), { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const timeFormat = new Intl.DateTimeFormat(uiLang(), { hour: '2-digit', minute: '2-digit' });

/** The day heading of a message; `today` is today's toDateString(), computed once per render. */
function dayOf(at: number, today: string): string {
  const d = new Date(at);
  if (d.toDateString() === today) return t('today');
  return dayFormat.format(d);
}

const Message = memo(function Message({ m }: { m: ChannelMessageView }) {
  if (m.event?.kind === 'held' || m.event?.kind === 'added_unlinked') {
    // a device the gateway could have made: a warning, not a routine line
    const p = m.event.who[0];
    const reset = m.event.detail === 'identity_changed';
    const key: MessageKey =
      m.event.kind === 'held'
        ? reset
          ? 'eventHeldIdentityChanged'
          : 'eventHeldOrgOnly'
        : reset
          ? 'eventAddedIdentityChanged'
          : 'eventAddedOrgOnly';
    return (
      <li class="event warn" role="alert" data-testid="event-held" data-reason={m.event.detail ?? ''}>
        {t(key, p?.displayName ?? '', p?.orgDomain ?? '')}
      </li>
    );
  }
  if (m.event?.kind === 'removed' && m.event.detail?.startsWith('revoked_by_')) {
    // a signed revocation: say who revoked it, not just that it left
    const p = m.event.who[0];
    const who = p ? `${p.displayName} (${p.orgDomain})` : '';
    return (
      <li class="event muted" data-testid="event-revoked" data-by={m.event.detail.slice('revoked_by_'.length)}>
        {m.event.detail === 'revoked_by_org' ? t('eventRevokedByOrg', who, p?.orgDomain ?? '') : t('eventRevokedByIdentity', who)}
      </li>
    );
  }
  if (m.event?.kind === 'added' && m.event.who.length > 0 && m.event.who.every((p) => p.linkedBy)) {
    // a device the employee's own device vouched for (issue 15), not one a gateway made
    const who = m.event.who.map((p) => `${p.displayName} (${p.orgDomain})`).join(', ');
    const from = [...new Set(m.event.who.map((p) => (p.linkedByLabel ? `${p.linkedByLabel} (${p.linkedBy})` : p.linkedBy)))].join(', ');
    return (
      <li class="event muted" data-testid="event-linked">
        {t('eventLinked', who, from)}
      </li>
    );
  }
  if (m.event) {
    const who = m.event.who.map((p) => `${p.displayName} (${p.orgDomain})`).join(', ');
    const key: MessageKey =
      m.event.kind === 'removed_self' ? 'eventRemovedSelf' : m.event.kind === 'removed' ? 'eventRemoved' : 'eventJoined';
    return (
      <li class="event muted" data-testid="event">
        {t(key, who)}
      </li>
    );
  }
  return (
    <li class={`msg ${m.direction}`} data-testid="message" data-direction={m.direction}>
      <div class="meta">
        <strong>{m.sender.displayName}</strong> <span class="muted">{m.sender.orgDomain}</span>{' '}
        <time class="muted" dateTime={new Date(m.at).toISOString()}>
          {timeFormat.format(m.at)}
        </time>
      </div>
      <div class="text" data-testid="message-text">
        {m.text}
      </div>
      {m.transferred && (
        <div class="muted" data-testid="transferred">
          {t('transferredLabel')}
        </div>
      )}
      {m.direction === 'out' && m.state && (
        <div class="muted state" data-testid="delivery" data-state={m.state}>
          {t(stateKey[m.state] ?? 'stateQueued')}
        </div>
      )}
    </li>
  );
});

/** Messages per block. */
export const BLOCK = 32;

export interface BlockProps {
  messages: ChannelMessageView[];
  /** the day heading in force before the block's first message ('' for the first block) */
  prevDay: string;
  /** today's toDateString(): after midnight every block renders again */
  today: string;
}

/** The list split into blocks of BLOCK messages, oldest first. */
export function blocksOf(messages: ChannelMessageView[], today: string): BlockProps[] {
  const out: BlockProps[] = [];
  for (let i = 0; i < messages.length; i += BLOCK)
    out.push({ messages: messages.slice(i, i + BLOCK), prevDay: i === 0 ? '' : dayOf(messages[i - 1]!.at, today), today });
  return out;
}

/** Whether a block shows the same as before: the same message objects (an update replaces its object) under the same heading. */
export function sameBlock(a: BlockProps, b: BlockProps): boolean {
  return (
    a.prevDay === b.prevDay &&
    a.today === b.today &&
    a.messages.length === b.messages.length &&
    a.messages.every((m, i) => m === b.messages[i])
  );
}

const Block = memo(function Block({ messages, prevDay, today }: BlockProps) {
  let lastDay = prevDay;
  return (
    <>
      {messages.map((m) => {
        const day = dayOf(m.at, today);
        // A plain list item, so screen readers read the day: a separator's content is presentational (WAI-ARIA 1.2).
        const sep = day !== lastDay ? <li class="day muted">{day}</li> : null;
        lastDay = day;
        return [sep, <Message key={m.id} m={m} />];
      })}
    </>
  );
}, sameBlock);

/** The items of the conversation's <ol>. */
export function MessageList({ messages }: { messages: ChannelMessageView[] }) {
  return (
    <>
      {blocksOf(messages, new Date().toDateString()).map((b, i) => (
        <Block key={i} {...b} />
      ))}
    </>
  );
}
