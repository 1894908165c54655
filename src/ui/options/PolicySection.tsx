import { send } from '../../shared/messaging';
import { ErrorNote } from '../components/ErrorNote';
import { useAsync } from '../components/useAsync';
import { t } from '../i18n';

/** What the organisation's policy fixes, and every problem found in it, with its path. */
export function PolicySection() {
  const state = useAsync(() => send('policy.state', {}), []);
  return (
    <section aria-labelledby="policy-h" data-testid="policy">
      <h2 id="policy-h">{t('optionsPolicy')}</h2>
      {state.status === 'loading' && (
        <p class="muted" aria-live="polite">
          {t('loading')}
        </p>
      )}
      {state.status === 'error' && <ErrorNote error={state.error} />}
      {state.status === 'done' && (
        <>
          <p>{state.value.managed ? t('policyActive') : t('policyNone')}</p>
          {state.value.locks.length > 0 && (
            <ul data-testid="policy-locks">
              {state.value.locks.map((k) => (
                <li key={k}>
                  <code>{k}</code> <span class="locked">{t('lockedByOrg')}</span>
                </li>
              ))}
            </ul>
          )}
          {state.value.problems.length > 0 && (
            <div role="alert">
              <p class="warn">{t('policyProblems')}</p>
              <ul data-testid="policy-problems">
                {state.value.problems.map((p) => (
                  <li key={p.path + p.message}>
                    <code>{p.path || '(policy)'}</code>: {p.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </>
      )}
    </section>
  );
}
