import { useState } from 'preact/hooks';
import { send } from '../../shared/messaging';
import type { ChannelIdentity } from '../../shared/protocol';
import { ErrorNote } from '../components/ErrorNote';
import { t } from '../i18n';

/** The company gateway's address: typed, or set (and locked) by the organisation's policy. */
export function GatewayField(p: { id: string; testId: string; value: string; locked: boolean; onInput: (v: string) => void }) {
  return (
    <p>
      <label for={p.id}>{t('gatewayLabel')}</label>
      <br />
      <input
        id={p.id}
        data-testid={p.testId}
        value={p.value}
        disabled={p.locked}
        onInput={(e) => p.onInput((e.target as HTMLInputElement).value)}
        placeholder="https://kontor.example.com"
        required
        size={32}
      />
      {p.locked && <span class="locked"> {t('lockedByOrg')}</span>}
    </p>
  );
}

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
      <GatewayField id="gw" testId="enroll-gateway" value={gateway} locked={identity.gatewayLocked} onInput={setGateway} />
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
