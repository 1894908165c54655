import { useState } from 'preact/hooks';
import { send } from '../../shared/messaging';
import type { ChannelIdentity } from '../../shared/protocol';
import { ErrorNote } from '../components/ErrorNote';
import { t } from '../i18n';

/** One-time enrollment: gateway (from policy, or typed) and the admin's code. */
export function Enroll({ identity, onDone }: { identity: ChannelIdentity; onDone: (i: ChannelIdentity) => void }) {
  const [gateway, setGateway] = useState(identity.gatewayUrl ?? '');
  const [code, setCode] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onDone(await send('channel.enroll', { ...(identity.gatewayLocked ? {} : { gatewayUrl: gateway.trim() }), code }));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card" onSubmit={submit} data-testid="enroll" aria-labelledby="enroll-h">
      <h2 id="enroll-h">{t('enrollTitle')}</h2>
      <p class="muted">{t('enrollText')}</p>
      <p>
        <label for="gw">{t('gatewayLabel')}</label>
        <br />
        <input
          id="gw"
          data-testid="enroll-gateway"
          value={gateway}
          disabled={identity.gatewayLocked}
          onInput={(e) => setGateway((e.target as HTMLInputElement).value)}
          placeholder="https://kontor.example.com"
          required
          size={32}
        />
        {identity.gatewayLocked && <span class="locked"> {t('lockedByOrg')}</span>}
      </p>
      <p>
        <label for="code">{t('codeLabel')}</label>
        <br />
        <input
          id="code"
          data-testid="enroll-code"
          value={code}
          onInput={(e) => setCode((e.target as HTMLInputElement).value)}
          autocomplete="one-time-code"
          required
        />
      </p>
      {error && <ErrorNote error={error} />}
      <button class="primary" type="submit" disabled={busy} data-testid="enroll-submit">
        {t('enrollButton')}
      </button>
    </form>
  );
}
