/**
 * This employee's devices (issue 15): the list the own gateway has, with how each was added as
 * far as this device can tell (its own chain, and the credentials of its conversations'
 * members), and revoking a sibling from here.
 */
import { KontorError } from '../../shared/errors';
import type { OwnDeviceView } from '../../shared/protocol';
import { requireEngine } from './engine-host';
import { currentClient } from './link';
import { IdentityError } from './identity';
import { deviceLabels } from './device-label';

function connected() {
  const c = currentClient();
  if (!c) throw new KontorError('unavailable', 'not connected to your company gateway');
  return c;
}

export async function ownDevices(): Promise<{ devices: OwnDeviceView[] }> {
  const engine = await requireEngine();
  const self = engine.certificate;
  const { devices } = await connected().call('directory.devices', { employee: self.employeeId });
  const origins = await engine.deviceOrigins();
  const labels = await deviceLabels(self.deviceId);
  return {
    devices: devices
      .map((d) => ({
        deviceId: d.deviceId,
        enrolledAt: d.issuedAt,
        origin: origins.get(d.deviceId)?.origin ?? ('unknown' as const),
        linkedBy: origins.get(d.deviceId)?.linkedBy ?? null,
        label: labels.get(d.deviceId) ?? null,
        linkedByLabel: labels.get(origins.get(d.deviceId)?.linkedBy ?? '') ?? null,
        self: d.deviceId === self.deviceId,
      }))
      .sort((a, b) => Number(b.self) - Number(a.self) || a.enrolledAt.localeCompare(b.enrolledAt)),
  };
}

/** The gateway refuses the device first (it checks the identity signature), then every conversation learns it. */
export async function revokeDevice(deviceId: string): Promise<{ revoked: string; conversations: number }> {
  const engine = await requireEngine();
  const client = connected();
  const { devices } = await client.call('directory.devices', { employee: engine.certificate.employeeId });
  if (!devices.some((d) => d.deviceId === deviceId)) throw new KontorError('not_found', 'no such active device of yours');
  try {
    const { conversations } = await engine.revokeOwnDevice(deviceId, (statement) => client.call('devices.revoke', { statement }));
    return { revoked: deviceId, conversations: conversations.length };
  } catch (e) {
    // a device the admin enrolled alone does not hold the identity key: it cannot revoke its siblings
    if (e instanceof IdentityError) throw new KontorError('forbidden', e.message);
    throw e;
  }
}
