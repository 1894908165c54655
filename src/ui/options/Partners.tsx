import { useEffect, useState } from 'preact/hooks';
import { send } from '../../shared/messaging';
import type { PartnerView } from '../../shared/protocol';
import { ErrorNote } from '../components/ErrorNote';
import { PartnerCard } from '../components/PartnerCard';
import { t } from '../i18n';

/** The partner directory: every entry with its source and verification state. */
export function Partners() {
  const [list, setList] = useState<{ partners: PartnerView[]; canAdd: boolean } | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [domain, setDomain] = useState('');
  const [busy, setBusy] = useState(false);
  const reload = () => send('partners.list', {}).then(setList, setError);
  useEffect(() => void reload(), []);

  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      await reload();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const add = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      const p = await send('partners.add', { domain: domain.trim() });
      setNotice(t('partnerAdded', p.name, p.fingerprint ?? '—'));
      setDomain('');
    });
  };

  return (
    <section aria-labelledby="partners-h" data-testid="partners">
      <h2 id="partners-h">{t('optionsPartners')}</h2>
      {error && <ErrorNote error={error} />}
      {notice && (
        <p role="status" data-testid="partner-notice">
          {notice}
        </p>
      )}
      {list?.partners.length === 0 && <p class="muted">{t('partnersEmpty')}</p>}
      <ul class="plain">
        {list?.partners.map((p) => (
          <li key={p.domain} data-testid="partner-entry" data-domain={p.domain}>
            <PartnerCard partner={p}>
              <p class="locked">{t(p.source === 'policy' ? 'partnerSourcePolicy' : 'partnerSourceUser')}</p>
              <div class="row">
                {p.keyWarning && p.state !== 'pinned-policy' && (
                  <button type="button" disabled={busy} onClick={() => void act(() => send('partners.acceptKey', { domain: p.domain }))}>
                    {t('acceptKey')}
                  </button>
                )}
                {p.source === 'user' && (
                  <button
                    type="button"
                    disabled={busy}
                    aria-label={`${t('removePartner')} ${p.name}`}
                    onClick={() => void act(() => send('partners.remove', { domain: p.domain }))}
                  >
                    {t('removePartner')}
                  </button>
                )}
              </div>
            </PartnerCard>
          </li>
        ))}
      </ul>
      {list && !list.canAdd && <p class="locked">{t('partnersManaged')}</p>}
      {list?.canAdd && (
        <form onSubmit={add} class="row">
          <label for="partner-domain">{t('addPartnerLabel')}</label>
          <input
            id="partner-domain"
            data-testid="partner-domain-input"
            value={domain}
            onInput={(e) => setDomain((e.target as HTMLInputElement).value)}
            placeholder="globex.example"
            required
          />
          <button class="primary" type="submit" disabled={busy} data-testid="add-partner">
            {t('addPartnerButton')}
          </button>
        </form>
      )}
    </section>
  );
}
