import { useEffect, useState } from 'preact/hooks';
import { browser, openSidePanel } from '../../shared/browser';
import { send } from '../../shared/messaging';
import type { Discovery, TabState } from '../../shared/protocol';
import { mount } from '../components/mount';
import { ErrorNote } from '../components/ErrorNote';
import { PartnerCard } from '../components/PartnerCard';
import { useAsync } from '../components/useAsync';
import { Blocking } from './Blocking';
import { t } from '../i18n';

function siteOf(url: string | undefined): string | null {
  if (!url || !/^https?:/.test(url)) return null;
  return new URL(url).hostname;
}

/**
 * The tab the popup describes: the active tab, or `?tab=ID` when the popup is opened as a
 * page for another tab (as uBlock Origin's dashboard does, and the demo and tests do).
 */
async function targetTab() {
  const id = Number(new URLSearchParams(location.search).get('tab'));
  if (Number.isInteger(id) && id > 0) return browser.tabs.get(id).catch(() => undefined);
  const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
  return tab;
}

/**
 * Opening the popup is the employee's request to look at this page: Kontor reads its public
 * signals once (a `<link rel="kontor">` offer; on profile pages a link to a partner that has
 * not claimed the page). Nothing is fetched; a manifest is fetched only when the employee adds
 * the company.
 */
function Discover({ tabId }: { tabId: number }) {
  const [result, setResult] = useState<Discovery | Error | null>(null);
  useEffect(() => void send('discovery.inspect', { tabId }).then(setResult, (e: Error) => setResult(e)), [tabId]);
  if (result instanceof Error) return <ErrorNote error={result} />;
  if (!result) return null;
  return (
    <div aria-live="polite">
      {result.hint && (
        <p class="card warn" data-testid="hint">
          {t('hintUnconfirmed', result.hint.name)}
        </p>
      )}
      {result.offer && (
        <p class="muted" data-testid="discover-result">
          {result.manifestUrl ? t('discoverYes') : t('discoverNo')}
        </p>
      )}
    </div>
  );
}

function Popup() {
  const status = useAsync(() => send('app.status', {}), []);
  const [windowId, setWindowId] = useState<number | undefined>(undefined);
  const [tab, setTab] = useState<{ id: number; site: string | null } | null>(null);
  const [state, setState] = useState<TabState | null>(null);
  useEffect(() => {
    void browser.windows.getCurrent().then((w) => setWindowId(w.id));
    void targetTab().then(async (tb) => {
      if (tb?.id === undefined) return;
      setTab({ id: tb.id, site: siteOf(tb.url) });
      setState(await send('tab.state', { tabId: tb.id }));
    });
  }, []);
  const partner = state?.match?.partner;

  // Opening the panel must happen inside the click's user gesture: no await before it.
  const startContact = (domain: string) => {
    void openSidePanel(windowId);
    void send('contact.request', { domain });
  };

  return (
    <main>
      <h1>{t('popupTitle')}</h1>
      <p aria-live="polite" data-testid="status">
        {status.status === 'loading' && <span class="muted">{t('loading')}</span>}
        {status.status === 'done' && <span class="ok">{t('statusReady')}</span>}
        {status.status === 'error' && <ErrorNote error={status.error} />}
      </p>
      <div class="card">
        <span class="muted">{t('currentSite')}: </span>
        <span data-testid="site">{tab?.site ?? t('noSite')}</span>
      </div>
      {partner && state?.match && (
        <PartnerCard partner={partner} via={state.match.via}>
          <button
            type="button"
            class="primary"
            data-testid="start-contact"
            disabled={partner.keyWarning !== null}
            onClick={() => startContact(partner.domain)}
          >
            {t('startContact')}
          </button>
        </PartnerCard>
      )}
      {state && !partner && tab?.site && <Discover tabId={tab.id} />}
      {tab && <Blocking tabId={tab.id} />}
      <div class="row">
        <button type="button" data-testid="open-sidepanel" onClick={() => void openSidePanel(windowId)}>
          {t('openSidePanel')}
        </button>
        <button type="button" data-testid="open-options" onClick={() => void browser.runtime.openOptionsPage()}>
          {t('openOptions')}
        </button>
      </div>
    </main>
  );
}

mount(<Popup />, 'popupTitle');
