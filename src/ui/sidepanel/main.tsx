import { useEffect, useState } from 'preact/hooks';
import { browser } from '../../shared/browser';
import { send } from '../../shared/messaging';
import type { PartnerView } from '../../shared/protocol';
import { mount } from '../components/mount';
import { ErrorNote } from '../components/ErrorNote';
import { PartnerCard } from '../components/PartnerCard';
import { useAsync } from '../components/useAsync';
import { t } from '../i18n';

function usePendingContact(): PartnerView | null {
  const [partner, setPartner] = useState<PartnerView | null>(null);
  useEffect(() => {
    const load = () => void send('contact.pending', {}).then((r) => setPartner(r.partner), () => undefined);
    load();
    const onChange = (changes: Record<string, unknown>, area: string) => area === 'session' && 'contact:pending' in changes && load();
    browser.storage.onChanged.addListener(onChange);
    return () => browser.storage.onChanged.removeListener(onChange);
  }, []);
  return partner;
}

function SidePanel() {
  const status = useAsync(() => send('app.status', {}), []);
  const partner = usePendingContact();
  return (
    <main>
      <h1>{t('sidepanelTitle')}</h1>
      {status.status === 'error' && <ErrorNote error={status.error} />}
      {partner && (
        <div data-testid="contact-partner">
          <PartnerCard partner={partner} />
        </div>
      )}
      <section aria-label={t('sidepanelTitle')} data-testid="conversations">
        <p class="muted">{t('sidepanelEmpty')}</p>
      </section>
    </main>
  );
}

mount(<SidePanel />, 'sidepanelTitle');
