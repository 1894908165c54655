/**
 * Human labels for this employee's devices (issue 15): "Chromium on Linux" instead of a device
 * id. A device names itself from what the browser tells the background; the labels of siblings
 * are learned in the link exchange (the new device sends its own, the linking one its own) and
 * kept here, so the devices list and the "linked from" notice can show them.
 */
import { browserName } from '../../shared/browser';
import { deviceLabelFrom, ownSystemHint } from '../../shared/browser-label';
import { storage } from '../storage';

/** This browser's own label. */
export function ownDeviceLabel(): string {
  return deviceLabelFrom(browserName, ownSystemHint());
}

export async function rememberDeviceLabel(deviceId: string, label: string): Promise<void> {
  const labels = await storage.get('deviceLabels');
  await storage.set('deviceLabels', { ...labels, [deviceId]: label.slice(0, 64) });
}

/** Known labels by device id, this device's own included. */
export async function deviceLabels(selfId: string): Promise<Map<string, string>> {
  return new Map([...Object.entries(await storage.get('deviceLabels')), [selfId, ownDeviceLabel()]]);
}
