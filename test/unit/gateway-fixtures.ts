/** Shared fixtures of the gateway store's unit tests. */
import type { DeviceRecord } from '../../src/gateway/store/types';

/** A device record with placeholder keys and certificate: the store only keeps them. */
export const device = (deviceId: string): DeviceRecord => ({
  deviceId,
  employeeId: deviceId,
  displayName: deviceId,
  devicePublicKey: 'k',
  mlsSignatureKey: 'k',
  certificate: {} as DeviceRecord['certificate'],
  createdAt: 1,
  revokedAt: null,
});
