import { useEffect, useState } from 'preact/hooks';
import { send } from '../../shared/messaging';
import { onPush } from '../../shared/port';
import type { ChannelIdentity, ConversationSummary, PartnerView } from '../../shared/protocol';
import { mount } from '../components/mount';
import { ErrorNote } from '../components/ErrorNote';
import { PartnerCard } from '../components/PartnerCard';
import { t } from '../i18n';
import { Conversation } from './Conversation';
import { Enroll } from './Enroll';
import { Devices } from './Devices';
import { LinkDevice, LinkNew, LinkPinWarning } from './Link';
import { useChannelEvents } from './useChannelEvents';

function usePendingContact(): PartnerView | null {
  const [partner, setPartner] = useState<PartnerView | null>(null);
  useEffect(() => {
    const load = () =>
      void send('contact.pending', {}).then(
        (r) => setPartner(r.partner),
        () => undefined,
      );
    load();
    return onPush((e) => e.event === 'contact' && load());
  }, []);
  return partner;
}

function ContactPicker({ partner, onStarted }: { partner: PartnerView; onStarted: (id: string, rejected: string[]) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const start = async (contact: string) => {
    setBusy(true);
    setError(null);
    try {
      const started = await send('channel.start', { domain: partner.domain, contact });
      onStarted(started.conversationId, started.rejected);
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div data-testid="contact-partner">
      <PartnerCard partner={partner}>
        <p>{partner.contacts.length ? t('chooseContact', partner.name) : t('noContacts', partner.name)}</p>
        <div class="row">
          {partner.contacts.map((c) => (
            <button
              type="button"
              key={c.id}
              class="primary"
              disabled={busy || partner.keyWarning !== null}
              data-testid={`contact-${c.id}`}
              onClick={() => void start(c.id)}
            >
              {c.name}
            </button>
          ))}
        </div>
        {busy && (
          <p class="muted" aria-live="polite">
            {t('startingContact')}
          </p>
        )}
        {error && <ErrorNote error={error} />}
      </PartnerCard>
    </div>
  );
}

function SidePanel() {
  const tick = useChannelEvents();
  const [identity, setIdentity] = useState<ChannelIdentity | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [list, setList] = useState<ConversationSummary[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const [linking, setLinking] = useState(false);
  // Devices whose credentials failed Kontor's check (for example a key package a gateway injected).
  const [rejected, setRejected] = useState<string[]>([]);
  const pending = usePendingContact();
  useEffect(() => void send('channel.identity', {}).then(setIdentity, setError), [tick]);
  useEffect(() => {
    if (identity?.enrolled) void send('channel.list', {}).then((r) => setList(r.conversations), setError);
  }, [identity?.enrolled, tick, open]);

  return (
    <main>
      <h1>{t('sidepanelTitle')}</h1>
      {error && <ErrorNote error={error} />}
      {identity && !identity.enrolled && pending && (
        // The partner the employee chose stays visible while the browser gets enrolled.
        <div data-testid="contact-partner">
          <PartnerCard partner={pending} />
        </div>
      )}
      {identity && !identity.enrolled && <Enroll identity={identity} onDone={setIdentity} />}
      {identity && !identity.enrolled && (
        <LinkNew identity={identity} onDone={() => void send('channel.identity', {}).then(setIdentity, setError)} />
      )}
      {identity?.enrolled && (
        <p class="muted" data-testid="identity">
          {t('youAre', identity.displayName ?? '', identity.orgName ?? identity.orgDomain ?? '')} ·{' '}
          <span class={identity.connected ? 'ok' : 'warn'} data-testid="connection">
            {t(identity.connected ? 'connected' : 'offline')}
          </span>{' '}
          ·{' '}
          <button type="button" class="link" onClick={() => setLinking(true)} data-testid="link-action" aria-expanded={linking}>
            {t('linkAction')}
          </button>
        </p>
      )}
      {identity?.removed && (
        <div role="alert" class="card error" data-testid="device-removed">
          <p>{t('deviceRemoved')}</p>
          <p class="muted">{t('deviceRemovedReason', identity.removed)}</p>
        </div>
      )}
      {identity?.enrolled && <LinkPinWarning tick={tick} />}
      {identity?.enrolled && linking && <LinkDevice onClose={() => setLinking(false)} />}
      {identity?.enrolled && pending && pending.domain !== dismissed && !open && (
        <ContactPicker
          partner={pending}
          onStarted={(id, rejected) => {
            setDismissed(pending.domain);
            setRejected(rejected);
            setOpen(id);
          }}
        />
      )}
      {rejected.length > 0 && (
        <div role="alert" class="card error" data-testid="rejected-devices">
          <p>{t('devicesRejected', String(rejected.length))}</p>
          <ul>
            {rejected.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </div>
      )}
      {identity?.enrolled && open && <Conversation id={open} tick={tick} onBack={() => setOpen(null)} />}
      {identity?.enrolled && !open && (
        <section aria-labelledby="conv-h" data-testid="conversations">
          <h2 id="conv-h">{t('conversations')}</h2>
          {list.length === 0 && <p class="muted">{t('sidepanelEmpty')}</p>}
          <ul class="plain">
            {list.map((c) => (
              <li key={c.id}>
                <button type="button" class="conv" data-testid="conversation-item" onClick={() => setOpen(c.id)}>
                  <strong>{c.title}</strong>{' '}
                  {c.unread > 0 && (
                    <span class="badge" data-testid="unread">
                      {t('unread', String(c.unread))}
                    </span>
                  )}
                  <br />
                  <span class="muted">{new Date(c.lastActivity).toLocaleString()}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {identity?.enrolled && identity.connected && !open && <Devices tick={tick} />}
      {!identity?.enrolled && (
        <section data-testid="conversations">
          <p class="muted">{t('sidepanelEmpty')}</p>
        </section>
      )}
    </main>
  );
}

mount(<SidePanel />, 'sidepanelTitle');
