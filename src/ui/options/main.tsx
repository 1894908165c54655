import { send } from '../../shared/messaging';
import { mount } from '../components/mount';
import { ErrorNote } from '../components/ErrorNote';
import { useAsync } from '../components/useAsync';
import { t } from '../i18n';

function Options() {
  const status = useAsync(() => send('app.status', {}), []);
  return (
    <main>
      <h1>{t('optionsTitle')}</h1>
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
      <section aria-labelledby="privacy">
        <h2 id="privacy">{t('optionsPrivacy')}</h2>
        <p>{t('optionsPrivacyText')}</p>
      </section>
    </main>
  );
}

mount(<Options />, 'optionsTitle');
