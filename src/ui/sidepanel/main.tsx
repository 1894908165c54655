import { send } from '../../shared/messaging';
import { mount } from '../components/mount';
import { ErrorNote } from '../components/ErrorNote';
import { useAsync } from '../components/useAsync';
import { t } from '../i18n';

function SidePanel() {
  const status = useAsync(() => send('app.status', {}), []);
  return (
    <main>
      <h1>{t('sidepanelTitle')}</h1>
      {status.status === 'error' && <ErrorNote error={status.error} />}
      <section aria-label={t('sidepanelTitle')} data-testid="conversations">
        <p class="muted">{t('sidepanelEmpty')}</p>
      </section>
    </main>
  );
}

mount(<SidePanel />, 'sidepanelTitle');
