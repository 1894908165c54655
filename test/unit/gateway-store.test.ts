import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/gateway/store/sqlite';
import type { DeviceRecord } from '../../src/gateway/store/types';

const HUB = 'acme.example';
const A = `alice@${HUB}`, B = `bob@${HUB}`;
const device = (deviceId: string): DeviceRecord => ({
  deviceId, employeeId: deviceId, displayName: deviceId, devicePublicKey: 'k', mlsSignatureKey: 'k',
  certificate: {} as DeviceRecord['certificate'], createdAt: 1, revokedAt: null,
});
const app = (messageId: string) => ({ conversationId: 'c', messageId, sender: A, kind: 'application' as const, epoch: 1, payload: 'AAAA' });

describe('SqliteStore hub log', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps log positions gapless when a neighbouring write in the same batch fails', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-store-'));
    const s = new SqliteStore(path.join(dir, 'db.sqlite'));
    await Promise.all([s.addDevice(device('alice')), s.addDevice(device('bob'))]);
    await s.createConversation('c', A, 1);
    expect(await s.submitToHub({ ...app('c0'), kind: 'commit', epoch: 0, members: [A, B] }, HUB, 2)).toMatchObject({ ok: true, seq: 1 });
    // one batch: a submission, a failing write (duplicate device), another submission
    const [m1, dup, m2] = await Promise.allSettled([s.submitToHub(app('m1'), HUB, 3), s.addDevice(device('bob')), s.submitToHub(app('m2'), HUB, 3)]);
    expect(dup.status).toBe('rejected');
    expect(m1).toMatchObject({ status: 'fulfilled', value: { ok: true, seq: 2, duplicate: false } });
    expect(m2).toMatchObject({ status: 'fulfilled', value: { ok: true, seq: 3, duplicate: false } });
    expect(await s.submitToHub(app('m3'), HUB, 4)).toMatchObject({ ok: true, seq: 4 });
    expect(await s.submitToHub(app('m1'), HUB, 5)).toMatchObject({ ok: true, seq: 2, duplicate: true });
    expect((await s.fetchInbox('bob', 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    s.close();
  });
});
