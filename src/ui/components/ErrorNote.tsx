import { t } from '../i18n';

export function ErrorNote({ error }: { error: Error }) {
  return (
    <p class="error" role="alert">
      {t('errorPrefix', error.message)}
    </p>
  );
}
