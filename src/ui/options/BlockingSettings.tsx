import { useEffect, useState } from 'preact/hooks';
import { send } from '../../shared/messaging';
import type { BlockingSettingsView } from '../../shared/protocol';
import { ErrorNote } from '../components/ErrorNote';
import { t, type MessageKey } from '../i18n';

/** Options: one switch per blocking category (locked ones disabled) and the paused sites. */
export function BlockingSettings() {
  const [view, setView] = useState<BlockingSettingsView | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const run = (p: Promise<BlockingSettingsView>) => p.then(setView, (e: Error) => setError(e));
  useEffect(() => void run(send('blocking.settings', {})), []);

  const resume = (site: string) => run(send('blocking.resume', { site }).then(() => send('blocking.settings', {})));

  return (
    <section aria-labelledby="blocking-settings-h" data-testid="blocking-settings">
      <h2 id="blocking-settings-h">{t('blockingSettingsTitle')}</h2>
      <p class="muted">{t('blockingSettingsIntro')}</p>
      {error && <ErrorNote error={error} />}
      {view && (
        <>
          <ul class="plain blocking-switches">
            {view.categories.map((c) => (
              <li key={c.category}>
                <label class="switch">
                  <input
                    type="checkbox"
                    role="switch"
                    aria-checked={c.enabled}
                    data-testid={`category-${c.category}`}
                    checked={c.enabled}
                    disabled={c.locked}
                    aria-describedby={c.locked ? `locked-${c.category}` : undefined}
                    onChange={(e) =>
                      void run(send('blocking.setCategory', { category: c.category, enabled: (e.target as HTMLInputElement).checked }))
                    }
                  />{' '}
                  {t(`blockingCategory_${c.category}` as MessageKey)}
                </label>
                {c.locked && (
                  <span id={`locked-${c.category}`} class="locked">
                    {' '}
                    {t('lockedByOrg')}
                  </span>
                )}
              </li>
            ))}
          </ul>
          <h3>{t('blockingPausedSites')}</h3>
          {view.pauseLocked && (
            <p class="locked" data-testid="pause-locked">
              {t('blockingPauseLocked')} {t('lockedByOrg')}
            </p>
          )}
          {view.paused.length === 0 ? (
            <p class="muted" data-testid="paused-none">
              {t('blockingNoPausedSites')}
            </p>
          ) : (
            <ul class="plain" data-testid="paused-sites">
              {view.paused.map((site) => (
                <li key={site} class="row">
                  <code>{site}</code>
                  <button
                    type="button"
                    data-testid={`resume-${site}`}
                    aria-label={t('blockingResumeSite', site)}
                    onClick={() => void resume(site)}
                  >
                    {t('blockingResume')}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
