import { memo } from 'preact/compat';
import { send } from '../../shared/messaging';
import type { ConversationDetail } from '../../shared/protocol';
import { t } from '../i18n';

interface HeaderProps {
  id: string;
  detail: ConversationDetail;
  onDetail: (d: ConversationDetail) => void;
  onError: (e: Error) => void;
}

/**
 * The conversation's verification, safety number, held devices and members. Rendered again
 * only when one of those changes, not for every message that arrives (the page keeps the
 * rest of `detail` as it was when it adds a message).
 */
export const ConversationHeader = memo(
  function ConversationHeader({ id, detail, onDetail: setDetail, onError: setError }: HeaderProps) {
    /** An action on the conversation, then the conversation read again to show what it did. */
    const act = (done: Promise<unknown>) => void done.then(() => send('channel.view', { conversationId: id })).then(setDetail, setError);
    return (
      <header class="card">
        <h2 data-testid="conversation-title">{detail.title}</h2>
        <p class={detail.verified ? 'ok' : 'warn'} data-testid="conversation-verified" data-verified={String(detail.verified)}>
          {t(detail.verified ? 'conversationVerified' : 'conversationUnverified')}
        </p>
        {(detail.status === 'out_of_sync' || detail.status === 'broken') && (
          <p role="alert" class="error" data-testid="conversation-out-of-sync">
            {t('conversationOutOfSync')}
          </p>
        )}
        {detail.warning && (
          <p role="alert" class="error" data-testid="conversation-warning">
            {t('conversationWarning', detail.warning)}
          </p>
        )}
        <p class="muted">{t('safetyNumber')}:</p>
        <code data-testid="safety-fingerprint">{detail.fingerprint.digits}</code>
        {detail.contact && (
          <p>
            <button type="button" data-testid="sync-members" onClick={() => act(send('channel.syncMembers', { conversationId: id }))}>
              {t('syncMembers')}
            </button>
          </p>
        )}
        {detail.held.length > 0 && (
          <div class="warn" data-testid="held-devices">
            <p>{t('heldDevices')}:</p>
            <ul>
              {detail.held.map((h) => (
                <li key={h.deviceId + h.orgDomain} data-testid="held-device" data-reason={h.reason}>
                  {h.displayName} · {h.orgDomain} ·{' '}
                  {t(h.reason === 'identity_changed' ? 'heldReasonIdentityChanged' : 'heldReasonOrgOnly', h.orgDomain)}{' '}
                  <button
                    type="button"
                    data-testid="accept-device"
                    aria-label={t('acceptDeviceLabel', h.displayName)}
                    onClick={() => act(send('channel.acceptDevice', { conversationId: id, address: `${h.deviceId}@${h.orgDomain}` }))}
                  >
                    {t('acceptDevice')}
                  </button>
                  {h.previousFingerprint && (
                    // the safety fingerprint of the person changed: both shown, to compare with them out of band
                    <dl class="fingerprints" data-testid="identity-fingerprints">
                      <dt>{t('identityFingerprintOld')}</dt>
                      <dd>
                        <code data-testid="fingerprint-old">{h.previousFingerprint}</code>
                      </dd>
                      <dt>{t('identityFingerprintNew')}</dt>
                      <dd>
                        <code data-testid="fingerprint-new">{h.identityFingerprint}</code>
                      </dd>
                    </dl>
                  )}
                </li>
              ))}
            </ul>
          </div>
        )}
        <details>
          <summary>
            {t('members')} ({detail.members.length})
          </summary>
          <ul>
            {detail.members.map((m) => (
              <li key={m.deviceId + m.orgDomain}>
                {m.displayName} · {m.orgDomain} {m.verified ? '✓' : '⚠'}
                {detail.contact && !m.self && (
                  <button
                    type="button"
                    data-testid="readd-member"
                    aria-label={t('readdMemberLabel', m.displayName)}
                    title={t('readdMemberLabel', m.displayName)}
                    onClick={() => act(send('channel.readd', { conversationId: id, address: `${m.deviceId}@${m.orgDomain}` }))}
                  >
                    {t('readdMember')}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </details>
      </header>
    );
  },
  (a, b) => a.id === b.id && a.onDetail === b.onDetail && a.onError === b.onError && sameHeader(a.detail, b.detail),
);

/** Everything the header shows: every field of the detail but its messages. */
export function sameHeader(a: ConversationDetail, b: ConversationDetail): boolean {
  for (const k of Object.keys(a) as (keyof ConversationDetail)[]) if (k !== 'messages' && a[k] !== b[k]) return false;
  return Object.keys(a).length === Object.keys(b).length;
}
