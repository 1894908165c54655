import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { send } from '../../shared/messaging';
import type { ConversationDetail } from '../../shared/protocol';
import { ErrorNote } from '../components/ErrorNote';
import { t } from '../i18n';
import { MessageList } from './MessageList';
import { useChannelListener, type ChannelUpdate } from './useChannelEvents';

/** One conversation: verification header, messages with day separators, composer. */
export function Conversation({ id, tick, onBack }: { id: string; tick: number; onBack: () => void }) {
  const [detail, setDetail] = useState<ConversationDetail | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [text, setText] = useState('');
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    void send('channel.view', { conversationId: id }).then(setDetail, setError);
  }, [id, tick]);
  // Marked read after the newest incoming message is on screen, not before it is rendered:
  // the request then neither delays the render nor competes with the message's processing.
  const lastIn = detail?.messages.findLast((m) => m.direction === 'in')?.id;
  useEffect(() => {
    void send('channel.read', { conversationId: id }).catch(() => undefined);
  }, [id, tick, lastIn]);
  useEffect(() => list.current?.lastElementChild?.scrollIntoView({ block: 'end' }), [detail?.messages.length]);
  // Apply new messages and delivery updates in place: no re-reading of the whole history.
  const apply = useCallback(
    (u: ChannelUpdate) => {
      if (u.conversationId !== id) return;
      if (u.type === 'message') {
        const m = u.message;
        setDetail((d) => (d && !d.messages.some((x) => x.id === m.id) ? { ...d, messages: [...d.messages, m] } : d));
      } else if (u.type === 'delivery') {
        // a message this page does not show yet (its own, still being answered) changes nothing: no render
        setDetail((d) =>
          d?.messages.some((x) => x.id === u.messageId)
            ? { ...d, messages: d.messages.map((x) => (x.id === u.messageId ? { ...x, state: u.state } : x)) }
            : d,
        );
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
            <MessageList messages={detail.messages} />
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
