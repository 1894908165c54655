import { useEffect, useRef, useState } from 'preact/hooks';
import { send } from '../../shared/messaging';
import type { OwnDeviceView } from '../../shared/protocol';
import { ErrorNote } from '../components/ErrorNote';
import { t, uiLang, type MessageKey } from '../i18n';

const dateFormat = new Intl.DateTimeFormat(uiLang(), { day: 'numeric', month: 'long', year: 'numeric' });

function originText(d: OwnDeviceView, selfId: string | undefined): string {
  if (d.origin === 'linked' && d.linkedBy !== null && d.linkedBy === selfId) return t('deviceOriginLinkedHere');
  const key: Record<OwnDeviceView['origin'], MessageKey> = {
    first: 'deviceOriginFirst',
    linked: 'deviceOriginLinked',
    org_only: 'deviceOriginOrgOnly',
    unknown: 'deviceOriginUnknown',
  };
  return t(key[d.origin], d.linkedByLabel ?? d.linkedBy ?? '');
}

/**
 * This employee's devices (issue 15), with a Revoke button for each other one. Revoking asks
 * first in a modal dialog (focus moves into it, Escape cancels), because it cannot be undone.
 */
export function Devices({ tick }: { tick: number }) {
  const [devices, setDevices] = useState<OwnDeviceView[] | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [confirming, setConfirming] = useState<OwnDeviceView | null>(null);
  const [busy, setBusy] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);
  const load = () => void send('channel.devices', {}).then((r) => setDevices(r.devices), setError);
  useEffect(load, [tick]);
  const selfId = devices?.find((d) => d.self)?.deviceId;
  useEffect(() => {
    if (confirming && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [confirming]);

  const revoke = (d: OwnDeviceView) => {
    setBusy(true);
    void send('channel.revokeDevice', { deviceId: d.deviceId })
      .then(() => {
        setError(null);
        load();
      }, setError)
      .finally(() => {
        setBusy(false);
        dialog.current?.close();
      });
  };

  return (
    <section aria-labelledby="devices-h" data-testid="devices">
      <h2 id="devices-h">{t('yourDevices')}</h2>
      {error && <ErrorNote error={error} />}
      <ul class="plain">
        {(devices ?? []).map((d) => (
          <li key={d.deviceId} class="card" data-testid="device" data-device-id={d.deviceId} data-self={String(d.self)}>
            <strong data-testid="device-label">{d.label ?? <code>{d.deviceId}</code>}</strong>{' '}
            {d.self && <span class="badge">{t('thisDevice')}</span>}
            <br />
            {d.label && (
              // the id stays visible for support: it is what the gateway's admin sees
              <>
                <code class="muted" data-testid="device-id">
                  {d.deviceId}
                </code>
                <br />
              </>
            )}
            <span class="muted">
              {t('deviceEnrolled', dateFormat.format(new Date(d.enrolledAt)))} · {originText(d, selfId)}
            </span>
            {!d.self && (
              <p>
                <button
                  type="button"
                  data-testid="revoke-device"
                  aria-label={t('revokeDeviceLabel', d.label ? `${d.label} (${d.deviceId})` : d.deviceId)}
                  disabled={busy}
                  onClick={() => setConfirming(d)}
                >
                  {t('revokeDevice')}
                </button>
              </p>
            )}
          </li>
        ))}
      </ul>
      <dialog ref={dialog} aria-labelledby="revoke-h" data-testid="revoke-dialog" onClose={() => setConfirming(null)}>
        {confirming && (
          <form method="dialog">
            <h2 id="revoke-h">{t('revokeDeviceConfirmTitle')}</h2>
            <p>{t('revokeDeviceConfirm', confirming.label ? `${confirming.label} (${confirming.deviceId})` : confirming.deviceId)}</p>
            <div class="row">
              <button type="button" class="primary" data-testid="revoke-confirm" disabled={busy} onClick={() => revoke(confirming)}>
                {t('revokeDevice')}
              </button>
              <button type="submit" data-testid="revoke-cancel" autofocus>
                {t('cancel')}
              </button>
            </div>
          </form>
        )}
      </dialog>
    </section>
  );
}
