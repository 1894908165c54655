import { useEffect, useState } from 'preact/hooks';
import encodeQR from 'qr';
import { send } from '../../shared/messaging';
import type { ChannelIdentity, LinkStatus } from '../../shared/protocol';
import { ErrorNote } from '../components/ErrorNote';
import { t } from '../i18n';
import { GatewayField } from './Enroll';

/** Follows the background's link status while an exchange runs (it lives there, not in this page). */
function useLinkStatus(active: boolean): [LinkStatus | null, (s: LinkStatus) => void] {
  const [status, setStatus] = useState<LinkStatus | null>(null);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => void send('channel.linkStatus', {}).then(setStatus, () => undefined), 700);
    return () => clearInterval(timer);
  }, [active]);
  return [status, setStatus];
}

/** The code as a QR code of dark squares, drawn as SVG (no markup from strings). */
function QrCode({ text }: { text: string }) {
  const rows = encodeQR(text, 'raw', { ecc: 'medium' });
  const n = rows.length;
  return (
    <svg
      class="qr"
      viewBox={`-2 -2 ${n + 4} ${n + 4}`}
      width="168"
      height="168"
      role="img"
      aria-label={t('linkQrLabel')}
      data-testid="link-qr"
    >
      <rect x="-2" y="-2" width={n + 4} height={n + 4} fill="#fff" />
      {rows.flatMap((row, y) =>
        row.map((dark, x) => (dark ? <rect key={`${x}.${y}`} x={x} y={y} width="1" height="1" fill="#000" /> : null)),
      )}
    </svg>
  );
}

/** The not-enrolled screen's other way in: show a code that an enrolled device of the employee takes. */
export function LinkNew({ identity, onDone }: { identity: ChannelIdentity; onDone: () => void }) {
  const [started, setStarted] = useState(false);
  const [status, setStatus] = useLinkStatus(started);
  const [gateway, setGateway] = useState(identity.gatewayUrl ?? '');
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    if (status?.stage === 'done') onDone();
  }, [status?.stage]);
  const start = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setStatus(await send('channel.linkStart', identity.gatewayLocked ? {} : { gatewayUrl: gateway.trim() }));
      setStarted(true);
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form class="card" onSubmit={start} data-testid="link-new" aria-labelledby="link-new-h">
      <h2 id="link-new-h">{t('linkNewTitle')}</h2>
      <p class="muted">{t('linkNewText')}</p>
      {!started && !identity.gatewayLocked && (
        <GatewayField id="link-gw" testId="link-gateway" value={gateway} locked={false} onInput={setGateway} />
      )}
      {!started && (
        <button type="submit" data-testid="link-start">
          {t('linkNewButton')}
        </button>
      )}
      {status?.code && status.stage !== 'done' && (
        <div aria-live="polite">
          <p>{t('linkShowCode')}</p>
          <p class="code" data-testid="link-code">
            {status.code}
          </p>
          <QrCode text={status.code} />
        </div>
      )}
      {status?.sas && status.stage !== 'done' && (
        <p role="status" data-testid="link-sas-new">
          {t('linkCompareNew')} <strong class="code">{status.sas}</strong>
        </p>
      )}
      {status?.stage === 'failed' && <ErrorNote error={new Error(status.error ?? '')} />}
      {error && <ErrorNote error={error} />}
    </form>
  );
}

/** On an enrolled browser: take the new browser's code, compare the SAS, confirm. */
export function LinkDevice({ onClose }: { onClose: () => void }) {
  const [code, setCode] = useState('');
  const [history, setHistory] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [sending, setSending] = useState(false);
  const [status, setStatus] = useLinkStatus(sending);
  const act = async (work: () => Promise<LinkStatus>) => {
    setBusy(true);
    setError(null);
    try {
      setStatus(await work());
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const cancel = () => void send('channel.linkCancel', {}).then(onClose, onClose);
  const stage = status?.stage ?? 'idle';
  return (
    <section class="card" data-testid="link-device" aria-labelledby="link-h">
      <h2 id="link-h">{t('linkDeviceTitle')}</h2>
      {(stage === 'idle' || stage === 'failed' || (stage === 'waiting' && !busy)) && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void act(() => send('channel.linkJoin', { code }));
          }}
        >
          <p>
            <label for="link-code">{t('linkCodeLabel')}</label>
            <br />
            <input
              id="link-code"
              data-testid="link-code-input"
              value={code}
              onInput={(e) => setCode((e.target as HTMLInputElement).value)}
              autocomplete="off"
              placeholder="XXXXX-XXXXX"
              required
            />
          </p>
          <button class="primary" type="submit" disabled={busy} data-testid="link-join">
            {t('linkJoinButton')}
          </button>{' '}
          <button type="button" onClick={cancel}>
            {t('linkCancel')}
          </button>
        </form>
      )}
      {busy && stage !== 'compare' && (
        <p class="muted" aria-live="polite">
          {t('linkWaiting')}
        </p>
      )}
      {stage === 'compare' && status?.sas && (
        <div>
          <p role="status">
            {t('linkCompare')}{' '}
            <strong class="code" data-testid="link-sas">
              {status.sas}
            </strong>
          </p>
          <p>
            <label>
              <input
                type="checkbox"
                checked={history}
                onChange={(e) => setHistory((e.target as HTMLInputElement).checked)}
                data-testid="link-history"
              />{' '}
              {t('linkHistory')}
            </label>
          </p>
          <button
            class="primary"
            type="button"
            disabled={busy}
            data-testid="link-confirm"
            onClick={() => {
              setSending(true);
              void act(() => send('channel.linkConfirm', { history }));
            }}
          >
            {t('linkMatch')}
          </button>{' '}
          <button type="button" onClick={cancel} data-testid="link-mismatch">
            {t('linkMismatch')}
          </button>
        </div>
      )}
      {stage === 'sending' && (
        <p class="muted" aria-live="polite">
          {t('linkSending')}
        </p>
      )}
      {stage === 'done' && (
        <p role="status" data-testid="link-done">
          {t('linkDone', String(status?.added ?? 0))}{' '}
          <button type="button" onClick={onClose}>
            {t('linkClose')}
          </button>
        </p>
      )}
      {stage === 'failed' && <ErrorNote error={new Error(status?.error ?? '')} />}
      {error && <ErrorNote error={error} />}
    </section>
  );
}

/**
 * After this browser was linked: partners for which the linking browser sent another key than
 * the one this browser already pinned. The own pin stays; the employee checks with the partner.
 */
export function LinkPinWarning({ tick }: { tick: number }) {
  const [status, setStatus] = useState<LinkStatus | null>(null);
  useEffect(() => void send('channel.linkStatus', {}).then(setStatus, () => undefined), [tick]);
  if (status?.role !== 'new' || !status.pinConflicts.length) return null;
  return (
    <div role="alert" class="card error" data-testid="link-pin-conflicts">
      <p>{t('linkPinConflicts')}</p>
      <ul>
        {status.pinConflicts.map((c) => (
          <li key={c.domain}>{t('linkPinConflict', c.domain, c.pinned, c.transferred)}</li>
        ))}
      </ul>
    </div>
  );
}
