import { useEffect, useState } from 'preact/hooks';
import { send } from '../../shared/messaging';
import type { BlockingState } from '../../shared/protocol';
import { ErrorNote } from '../components/ErrorNote';
import { t, type MessageKey } from '../i18n';

/** How often the open popup refreshes the counts while the page keeps loading. */
const REFRESH_MS = 1000;

const categoryKey = (c: BlockingState['categories'][number]['category']) => `blockingCategory_${c}` as MessageKey;

/** The popup's tracker section: what was blocked on this tab's page, and pause / resume. */
export function Blocking({ tabId }: { tabId: number }) {
  const [state, setState] = useState<BlockingState | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [changed, setChanged] = useState(false);
  useEffect(() => {
    let live = true;
    const load = () =>
      send('blocking.state', { tabId }).then(
        (s) => live && setState(s),
        (e: Error) => live && setError(e),
      );
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [tabId]);

  if (error) return <ErrorNote error={error} />;
  if (!state) return null;
  if (!state.site)
    return (
      <p class="muted" data-testid="blocking-nosite">
        {t('blockingNoSite')}
      </p>
    );
  const site = state.site;
  const toggle = async () => {
    try {
      await send(state.paused ? 'blocking.resume' : 'blocking.pause', { site });
      setState(await send('blocking.state', { tabId }));
      setChanged(true);
    } catch (e) {
      setError(e as Error);
    }
  };

  return (
    <section class="card blocking" aria-labelledby="blocking-h" data-testid="blocking" data-paused={String(state.paused)}>
      <h2 id="blocking-h">{t('blockingTitle')}</h2>
      <p aria-live="polite" data-testid="blocking-total" data-count={state.total}>
        {state.paused ? t('blockingPaused', site) : state.total > 0 ? t('blockingTotal', String(state.total)) : t('blockingNone')}
      </p>
      {state.categories.length > 0 && (
        <ul class="plain blocking-list" data-testid="blocking-categories">
          {state.categories.map((c) => (
            <li key={c.category} data-testid={`blocking-cat-${c.category}`} data-count={c.count}>
              <details>
                <summary>
                  {t(categoryKey(c.category))} <span class="badge">{c.count}</span>
                </summary>
                <ul class="plain blocking-companies">
                  {c.companies.map((co) => (
                    <li key={co.name ?? ''} title={co.hosts.length > 0 ? t('blockingHosts', co.hosts.join(', ')) : undefined}>
                      {co.name ?? t('blockingUnknownCompany')} <span class="muted">({co.count})</span>
                      {/* Chromium's DNR feedback names rules, not hosts: no host list there. */}
                      {co.name === null && co.hosts.length > 0 && <span class="muted blocking-hosts"> {co.hosts.join(', ')}</span>}
                    </li>
                  ))}
                </ul>
              </details>
            </li>
          ))}
        </ul>
      )}
      <div class="row">
        <button
          type="button"
          data-testid="blocking-toggle"
          disabled={state.locked}
          aria-describedby={state.locked ? 'blocking-locked' : undefined}
          onClick={() => void toggle()}
        >
          {state.paused ? t('blockingResume') : t('blockingPause')}
        </button>
        {state.locked && (
          <span id="blocking-locked" class="locked" data-testid="blocking-locked">
            {t('lockedByOrg')}
          </span>
        )}
      </div>
      {changed && (
        <p class="muted" role="status">
          {t('blockingReload')}
        </p>
      )}
    </section>
  );
}
