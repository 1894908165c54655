import { send } from '../../shared/messaging';
import { mount } from '../components/mount';
import { ErrorNote } from '../components/ErrorNote';
import { useAsync } from '../components/useAsync';
import { t } from '../i18n';
import { BlockingSettings } from './BlockingSettings';
import { Partners } from './Partners';
import { PolicySection } from './PolicySection';

function Options() {
  const status = useAsync(() => send('app.status', {}), []);
  const welcome = location.hash === '#welcome';
  return (
    <main>
      <h1>{t('optionsTitle')}</h1>
      {welcome && (
        <section class="card" aria-labelledby="welcome-h" data-testid="welcome">
          <h2 id="welcome-h">{t('welcomeTitle')}</h2>
          <p>{t('welcomeText')}</p>
        </section>
      )}
      <section aria-labelledby="general">
        <h2 id="general">{t('optionsGeneral')}</h2>
        {status.status === 'error' && <ErrorNote error={status.error} />}
        {status.status === 'done' && (
          <div data-testid="about">
            <p>{t('optionsLanguage', status.value.language)}</p>
            <p class="muted">{t('optionsVersion', status.value.version, status.value.browser)}</p>
          </div>
        )}
      </section>
      <BlockingSettings />
      <Partners />
      <PolicySection />
      <section aria-labelledby="privacy">
        <h2 id="privacy">{t('optionsPrivacy')}</h2>
        <p>{t('optionsPrivacyText')}</p>
      </section>
    </main>
  );
}

mount(<Options />, 'optionsTitle');
