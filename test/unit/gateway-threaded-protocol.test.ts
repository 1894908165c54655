/** The compact encoding between the store worker and the main thread loses nothing. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/gateway/store/sqlite';
import { decodeArgs, decodeResult, encodeArgs, encodeResult } from '../../src/gateway/store/threaded-protocol';
import type { HubSubmission } from '../../src/gateway/store/types';
import { device } from './gateway-fixtures';
import type { StoreMethod } from '../../src/gateway/store/threaded-protocol';

const HUB = 'acme.example';
const A = `alice@${HUB}`,
  B = `bob@${HUB}`,
  C = `carol@${HUB}`;
/** What the main thread receives for a value the worker's store produced. */
const across = (method: StoreMethod, args: unknown[], value: unknown) =>
  decodeResult(method, args, structuredClone(encodeResult(method, structuredClone(value))));

describe('store worker encoding', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('rebuilds submitToHub, ackInbox and storeDeliveries results exactly', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-codec-'));
    const s = new SqliteStore(path.join(dir, 'db.sqlite'));
    for (const d of ['alice', 'bob', 'carol']) await s.addDevice(device(d));
    await s.createConversation('c', A, 1);
    const commit: HubSubmission = {
      conversationId: 'c',
      messageId: 'c0',
      sender: A,
      kind: 'commit',
      epoch: 0,
      payload: 'AAAA',
      members: [A, B, C, 'gina@globex.example'],
    };
    // arguments: the worker gets back exactly what the caller passed
    const app0: HubSubmission = { conversationId: 'c', messageId: 'm0', sender: A, kind: 'application', epoch: 1, payload: 'BBBB' };
    const welcome: HubSubmission = { ...app0, kind: 'welcome', recipients: [B] };
    for (const sub of [commit, app0, welcome]) {
      expect(decodeArgs('submitToHub', structuredClone(encodeArgs('submitToHub', [sub, HUB, 2])))).toEqual([sub, HUB, 2]);
    }
    expect(encodeArgs('ackInbox', ['bob', [1, 2]])).toEqual(['bob', [1, 2]]);
    const r1 = await s.submitToHub(commit, HUB, 2);
    expect(r1.ok && r1.local.length).toBe(2);
    expect(across('submitToHub', [commit, HUB, 2], r1)).toEqual(r1);
    const app: HubSubmission = { conversationId: 'c', messageId: 'm1', sender: A, kind: 'application', epoch: 1, payload: 'BBBB' };
    const r2 = await s.submitToHub(app, HUB, 3);
    expect(across('submitToHub', [app, HUB, 3], r2)).toEqual(r2);
    // refusals and duplicates cross unchanged
    const dup = await s.submitToHub(app, HUB, 4);
    expect(across('submitToHub', [app, HUB, 4], dup)).toEqual(dup);
    const refused = await s.submitToHub({ ...app, messageId: 'm2', sender: 'mallory@acme.example' }, HUB, 4);
    expect(refused.ok).toBe(false);
    expect(across('submitToHub', [app, HUB, 4], refused)).toEqual(refused);

    await s.storeReceipts(
      [{ conversationId: 'c', hub: HUB, seq: 2, messageId: 'm1', sender: A, status: 'delivered', by: B, messageIds: ['m1'] }],
      5,
    );
    const aliceIds = (await s.fetchInbox('alice', 0, 10)).map((e) => e.id);
    const bobIds = (await s.fetchInbox('bob', 0, 10)).map((e) => e.id);
    // a receipt acknowledged owes no receipt
    const ackedAlice = await s.ackInbox('alice', aliceIds);
    expect(ackedAlice).toEqual({ acked: 1, delivered: [] });
    expect(across('ackInbox', ['alice', aliceIds], ackedAlice)).toEqual(ackedAlice);
    const ackedBob = await s.ackInbox('bob', bobIds);
    expect(ackedBob).toEqual({
      acked: 2,
      delivered: [{ conversationId: 'c', hub: HUB, sender: A, seq: 2, messageId: 'm1', messageIds: ['c0', 'm1'] }],
    });
    expect(across('ackInbox', ['bob', bobIds], ackedBob)).toEqual(ackedBob);

    const deliveries = [
      {
        conversationId: 'x',
        hub: 'globex.example',
        seq: 7,
        messageId: 'g7',
        kind: 'application' as const,
        epoch: 1,
        sender: 'gina@globex.example',
        payload: 'CCCC',
        recipients: ['bob', 'carol'],
      },
    ];
    for (const d of ['bob', 'carol']) await s.addRemoteMember('x', 'globex.example', d);
    const stored = await s.storeDeliveries(deliveries, 6);
    expect(stored).toHaveLength(2);
    expect(across('storeDeliveries', [deliveries, 6], stored)).toEqual(stored);
    s.close();
  });
});
