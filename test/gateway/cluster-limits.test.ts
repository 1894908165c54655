/**
 * Requests per device are limited across instances: a device that opens a socket on each
 * instance behind HAProxy gets the one device's rate, not one per instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDevice, type TestDevice } from './helpers';
import { startCluster, type ClusterHandle } from './cluster-helpers';
import type { KontorClient } from '../../src/wire/client';

let acme: ClusterHandle;
let dora: TestDevice;
const sockets: KontorClient[] = [];

beforeAll(async () => {
  // 5 requests a second, burst 10: blocks of 0, so every request asks the shared bucket
  acme = await startCluster({ domain: 'acme.example', instances: 3, extraArgs: ['--rate-device', '5'] });
  dora = await newDevice({ ...acme.instances[0]!, url: acme.url }, 'dora', 'Dora');
  // three more sockets of the same device through the balancer: round robin puts them on the three instances
  for (let i = 0; i < 3; i++) {
    await dora.reconnect(acme.url);
    sockets.push(dora.client);
  }
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  dora?.client.close();
  await acme?.stop();
});

describe('limits across instances', () => {
  it('a device with a socket on every instance gets its rate once, not once per instance', async () => {
    // whatever connecting cost, the bucket is full again (10 at 5 a second)
    await new Promise((r) => setTimeout(r, 2500));
    // 30 requests at once, 10 per socket: per instance each socket would pass all 10
    const results = await Promise.allSettled(sockets.flatMap((s) => Array.from({ length: 10 }, () => s.call('keyPackages.count'))));
    const passed = results.filter((r) => r.status === 'fulfilled').length;
    const limited = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'rate_limited').length;
    // the burst of 10, plus what 5 a second refills while the requests run
    expect(passed).toBeGreaterThanOrEqual(10);
    expect(passed).toBeLessThanOrEqual(13);
    expect(passed + limited).toBe(30);
  }, 60_000);
});
