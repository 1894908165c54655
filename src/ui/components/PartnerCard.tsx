import type { PartnerView } from '../../shared/protocol';
import { t, type MessageKey } from '../i18n';

const stateText: Record<PartnerView['state'], MessageKey> = {
  'pinned-policy': 'stateVerifiedPolicy',
  'pinned-tofu': 'stateVerifiedTofu',
  unverified: 'stateUnverified',
};

/** Name, domain, how it was verified and the key fingerprint of one partner. */
export function PartnerCard({
  partner,
  via,
  children,
}: {
  partner: PartnerView;
  via?: 'domain' | 'profile';
  children?: preact.ComponentChildren;
}) {
  const verified = partner.state !== 'unverified' && !partner.keyWarning;
  return (
    <section class="card" data-testid="partner-card" aria-label={partner.name}>
      <h2>
        {t('partnerIsPartner', partner.name)}{' '}
        <span class={`badge ${verified ? 'ok' : 'warn'}`} data-testid="partner-state" data-state={partner.state}>
          {t(stateText[partner.state])}
        </span>
      </h2>
      <p class="muted" data-testid="partner-domain">
        {partner.domain}
      </p>
      {via && <p class="muted">{t(via === 'domain' ? 'viaDomain' : 'viaProfile')}</p>}
      {partner.fingerprint && (
        <p>
          <span class="muted">{t('fingerprint')}: </span>
          <code data-testid="partner-fingerprint">{partner.fingerprint}</code>
        </p>
      )}
      {partner.keyWarning && (
        <div role="alert" class="error" data-testid="key-warning">
          <strong>{t('keyWarningTitle')}</strong>
          <p>{t('keyWarningText', partner.keyWarning.pinned, partner.keyWarning.seen)}</p>
        </div>
      )}
      {children}
    </section>
  );
}
