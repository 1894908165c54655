import { useEffect, useState } from 'preact/hooks';
import { browser, openSidePanel } from '../../shared/browser';
import { send } from '../../shared/messaging';
import { mount } from '../components/mount';
import { ErrorNote } from '../components/ErrorNote';
import { useAsync } from '../components/useAsync';
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

function Popup() {
  const status = useAsync(() => send('app.status', {}), []);
  const [windowId, setWindowId] = useState<number | undefined>(undefined);
  const [site, setSite] = useState<string | null>(null);
  useEffect(() => {
    void browser.windows.getCurrent().then((w) => setWindowId(w.id));
    void targetTab().then((tab) => setSite(siteOf(tab?.url)));
  }, []);

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
        <span data-testid="site">{site ?? t('noSite')}</span>
      </div>
      <div class="row">
        {/* openSidePanel must run inside the click's user gesture: no await before it. */}
        <button class="primary" data-testid="open-sidepanel" onClick={() => void openSidePanel(windowId)}>
          {t('openSidePanel')}
        </button>
        <button data-testid="open-options" onClick={() => void browser.runtime.openOptionsPage()}>
          {t('openOptions')}
        </button>
      </div>
    </main>
  );
}

mount(<Popup />, 'popupTitle');
