import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { send } from '../../shared/messaging';
import type { ConversationDetail } from '../../shared/protocol';
import { ErrorNote } from '../components/ErrorNote';
import { t } from '../i18n';
import { ConversationHeader } from './ConversationHeader';
import { MessageList } from './MessageList';
import { useChannelListener, type ChannelUpdate } from './useChannelEvents';
import { useReportViewing } from './useViewing';

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
  // no OS notification for a message shown here (background/viewing.ts)
  useReportViewing(id);

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
          <ConversationHeader id={id} detail={detail} onDetail={setDetail} onError={setError} />
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
