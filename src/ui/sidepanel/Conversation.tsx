import { memo } from 'preact/compat';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { send } from '../../shared/messaging';
import type { ChannelMessageView, ConversationDetail } from '../../shared/protocol';
import { ErrorNote } from '../components/ErrorNote';
import { t, uiLang, type MessageKey } from '../i18n';
import { useChannelListener, type ChannelUpdate } from './useChannelEvents';

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

function dayOf(at: number): string {
  const d = new Date(at);
  if (d.toDateString() === new Date().toDateString()) return t('today');
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

/** One conversation: verification header, messages with day separators, composer. */
export function Conversation({ id, tick, onBack }: { id: string; tick: number; onBack: () => void }) {
  const [detail, setDetail] = useState<ConversationDetail | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [text, setText] = useState('');
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    void send('channel.view', { conversationId: id }).then(setDetail, setError);
    void send('channel.read', { conversationId: id }).catch(() => undefined);
  }, [id, tick]);
  useEffect(() => list.current?.lastElementChild?.scrollIntoView({ block: 'end' }), [detail?.messages.length]);
  // Apply new messages and delivery updates in place: no re-reading of the whole history.
  const apply = useCallback(
    (u: ChannelUpdate) => {
      if (u.conversationId !== id) return;
      if (u.type === 'message') {
        const m = u.message;
        setDetail((d) => (d && !d.messages.some((x) => x.id === m.id) ? { ...d, messages: [...d.messages, m] } : d));
        if (m.direction === 'in') void send('channel.read', { conversationId: id }).catch(() => undefined);
      } else if (u.type === 'delivery') {
        setDetail((d) => (d ? { ...d, messages: d.messages.map((x) => (x.id === u.messageId ? { ...x, state: u.state } : x)) } : d));
      }
    },
    [id],
  );
  useChannelListener(apply);

  const submit = async () => {
    const body = text.trim();
    if (!body) return;
    setText('');
    try {
      const sent = await send('channel.send', { conversationId: id, text: body });
      setDetail((d) => (d && !d.messages.some((x) => x.id === sent.id) ? { ...d, messages: [...d.messages, sent] } : d));
    } catch (e) {
      setError(e as Error);
      setText(body);
    }
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    }
  };

  let lastDay = '';
  return (
    <section aria-label={detail?.title ?? ''} data-testid="conversation">
      <button type="button" onClick={onBack}>
        ← {t('back')}
      </button>
      {error && <ErrorNote error={error} />}
      {detail && (
        <>
          <header class="card">
            <h2 data-testid="conversation-title">{detail.title}</h2>
            <p class={detail.verified ? 'ok' : 'warn'} data-testid="conversation-verified" data-verified={String(detail.verified)}>
              {t(detail.verified ? 'conversationVerified' : 'conversationUnverified')}
            </p>
            {(detail.status === 'out_of_sync' || detail.status === 'broken') && (
              <p role="alert" class="error" data-testid="conversation-out-of-sync">
                {t('conversationOutOfSync')}
              </p>
            )}
            {detail.warning && (
              <p role="alert" class="error" data-testid="conversation-warning">
                {t('conversationWarning', detail.warning)}
              </p>
            )}
            <p class="muted">{t('safetyNumber')}:</p>
            <code data-testid="safety-fingerprint">{detail.fingerprint.digits}</code>
            {detail.contact && (
              <p>
                <button
                  type="button"
                  data-testid="sync-members"
                  onClick={() =>
                    void send('channel.syncMembers', { conversationId: id })
                      .then(() => send('channel.view', { conversationId: id }))
                      .then(setDetail, setError)
                  }
                >
                  {t('syncMembers')}
                </button>
              </p>
            )}
            {detail.held.length > 0 && (
              <div class="warn" data-testid="held-devices">
                <p>{t('heldDevices')}:</p>
                <ul>
                  {detail.held.map((h) => (
                    <li key={h.deviceId + h.orgDomain} data-testid="held-device" data-reason={h.reason}>
                      {h.displayName} · {h.orgDomain} ·{' '}
                      {t(h.reason === 'identity_changed' ? 'heldReasonIdentityChanged' : 'heldReasonOrgOnly', h.orgDomain)}{' '}
                      <button
                        type="button"
                        data-testid="accept-device"
                        aria-label={t('acceptDeviceLabel', h.displayName)}
                        onClick={() =>
                          void send('channel.acceptDevice', { conversationId: id, address: `${h.deviceId}@${h.orgDomain}` })
                            .then(() => send('channel.view', { conversationId: id }))
                            .then(setDetail, setError)
                        }
                      >
                        {t('acceptDevice')}
                      </button>
                      {h.previousFingerprint && (
                        // the safety fingerprint of the person changed: both shown, to compare with them out of band
                        <dl class="fingerprints" data-testid="identity-fingerprints">
                          <dt>{t('identityFingerprintOld')}</dt>
                          <dd>
                            <code data-testid="fingerprint-old">{h.previousFingerprint}</code>
                          </dd>
                          <dt>{t('identityFingerprintNew')}</dt>
                          <dd>
                            <code data-testid="fingerprint-new">{h.identityFingerprint}</code>
                          </dd>
                        </dl>
                      )}
                    </li>
                  ))}
                </ul>
              </div>
            )}
            <details>
              <summary>
                {t('members')} ({detail.members.length})
              </summary>
              <ul>
                {detail.members.map((m) => (
                  <li key={m.deviceId + m.orgDomain}>
                    {m.displayName} · {m.orgDomain} {m.verified ? '✓' : '⚠'}
                    {detail.contact && !m.self && (
                      <button
                        type="button"
                        data-testid="readd-member"
                        aria-label={t('readdMemberLabel', m.displayName)}
                        title={t('readdMemberLabel', m.displayName)}
                        onClick={() =>
                          void send('channel.readd', { conversationId: id, address: `${m.deviceId}@${m.orgDomain}` })
                            .then(() => send('channel.view', { conversationId: id }))
                            .then(setDetail, setError)
                        }
                      >
                        {t('readdMember')}
                      </button>
                    )}
                  </li>
                ))}
              </ul>
            </details>
          </header>
          <ol class="plain messages" ref={list} aria-live="polite" data-testid="messages">
            {detail.messages.map((m) => {
              const day = dayOf(m.at);
              // A plain list item, so screen readers read the day: a separator's content is presentational (WAI-ARIA 1.2).
              const sep = day !== lastDay ? <li class="day muted">{day}</li> : null;
              lastDay = day;
              return [sep, <Message key={m.id} m={m} />];
            })}
          </ol>
          <form
            class="composer"
            onSubmit={(e) => {
              e.preventDefault();
              void submit();
            }}
          >
            <label for="composer" class="sr-only">
              {t('composerLabel')}
            </label>
            <textarea
              id="composer"
              data-testid="composer"
              rows={2}
              value={text}
              placeholder={t('composerLabel')}
              onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
              onKeyDown={onKey}
            />
            <button class="primary" type="submit" data-testid="send">
              {t('send')}
            </button>
          </form>
        </>
      )}
    </section>
  );
}
