/**
 * The Store contract: one suite, run unchanged against SQLite (a temp file) and PostgreSQL (a
 * throwaway server from services.ts, one fresh database per test).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { SqliteStore } from '../../src/gateway/store/sqlite';
import { PgStore } from '../../src/gateway/store/pg';
import type { Delivery, DeviceRecord, IdentityRecord, LinkSide, Store } from '../../src/gateway/store/types';
import { LINK } from '../../src/wire/link';
import { aggregateReceipts } from '../../src/gateway/delivery';
import { device } from '../unit/gateway-fixtures';
import { startPostgres, type PostgresHandle } from './services';

const HUB = 'acme.example';
const A = `alice@${HUB}`,
  B = `bob@${HUB}`,
  C = `carol@${HUB}`;
const app = (messageId: string, payload = 'AAAA') => ({
  conversationId: 'c',
  messageId,
  sender: A,
  kind: 'application' as const,
  epoch: 1,
  payload,
});
const partnerMsg = (seq: number, recipients = ['bob']): Delivery => ({
  conversationId: 'x',
  hub: 'globex.example',
  seq,
  messageId: `g${seq}`,
  kind: 'application',
  epoch: 1,
  sender: 'gina@globex.example',
  payload: 'AAAA',
  recipients,
});

/** globex's gateway tells bob (who sent in acme's conversation c) that it took his messages */
const partnerReceipt = (messageIds: string[]) => ({
  conversationId: 'c',
  hub: HUB,
  seq: 3,
  messageId: 'm',
  sender: B,
  status: 'partner' as const,
  by: 'globex.example',
  messageIds,
});

/** a link session B opens at time 0 for ten minutes; locators and ids as the gateway makes them */
const linkSession = (n: number) => ({
  sessionId: n.toString(16).padStart(32, '0'),
  locator: n.toString(16).padStart(64, 'a'),
  commitment: `commit-${n}`,
  expiresAt: LINK.ttlMs,
});
const sideA = (deviceId: string): LinkSide => ({ deviceId });
const MAX_LIVE = LINK.liveSessions;
const sideB: LinkSide = { deviceId: null };

/** a device as enrollment adds it, with keys of its own (`d-…`, `m-…`) */
const fresh = (id: string, keys: string, employeeId = 'alice', displayName = 'Alice'): DeviceRecord => ({
  ...device(id),
  employeeId,
  displayName,
  devicePublicKey: `d-${keys}`,
  mlsSignatureKey: `m-${keys}`,
});

/** an identity record as enrollment stores it; the store keeps the certificate as given, it does not verify it */
const identity = (key: string, employeeId = 'alice'): IdentityRecord => ({
  employeeId,
  identityKey: key,
  certificate: {
    type: 'kontor.identity-certificate',
    v: 1,
    employeeId,
    displayName: 'Alice',
    orgDomain: HUB,
    identityKey: key,
    issuedAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2027-01-01T00:00:00.000Z',
    signature: 'sig',
  } as IdentityRecord['certificate'],
  createdAt: 50,
});

interface Backend {
  name: string;
  setup(): Promise<void>;
  open(): Promise<Store>;
  /** another store on the database open() made last: another process or instance */
  again(): Promise<Store>;
  teardown(): Promise<void>;
}

let dir = '';
const sqlite: Backend = {
  name: 'SQLite',
  async setup() {
    /* nothing shared */
  },
  async open() {
    dir = mkdtempSync(path.join(tmpdir(), 'kontor-store-'));
    return new SqliteStore(path.join(dir, 'db.sqlite'));
  },
  async again() {
    return new SqliteStore(path.join(dir, 'db.sqlite'));
  },
  async teardown() {
    /* per test */
  },
};

let server: PostgresHandle | null = null;
let dbCount = 0;
let dbUrl = '';
const postgres: Backend = {
  name: 'PostgreSQL',
  async setup() {
    server = await startPostgres();
  },
  async open() {
    const name = `contract_${++dbCount}`;
    const admin = new pg.Client({ connectionString: server!.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    dbUrl = server!.url.replace(/\/postgres$/, `/${name}`);
    return PgStore.open(dbUrl);
  },
  again: () => PgStore.open(dbUrl),
  async teardown() {
    await server?.destroy();
  },
};

describe.each([sqlite, postgres])('Store contract: $name', (backend) => {
  let s: Store;
  let t: Store | null = null;
  beforeAll(() => backend.setup(), 60_000);
  afterAll(() => backend.teardown());
  afterEach(() => {
    s?.close();
    t?.close();
    t = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  });
  const open = async (devices: string[] = []) => {
    s = await backend.open();
    await Promise.all(devices.map((d) => s.addDevice(device(d))));
    return s;
  };
  const second = async () => (t = await backend.again());

  it('keeps log positions gapless when a neighbouring write in the same batch fails', async () => {
    await open(['alice', 'bob']);
    await s.createConversation('c', A, 1);
    expect(await s.submitToHub({ ...app('c0'), kind: 'commit', epoch: 0, members: [A, B] }, HUB, 2)).toMatchObject({ ok: true, seq: 1 });
    // one batch: a submission, a failing write (duplicate device), another submission
    const [m1, dup, m2] = await Promise.allSettled([
      s.submitToHub(app('m1'), HUB, 3),
      s.addDevice(device('bob')),
      s.submitToHub(app('m2'), HUB, 3),
    ]);
    expect(dup.status).toBe('rejected');
    expect(m1).toMatchObject({ status: 'fulfilled', value: { ok: true, seq: 2, duplicate: false } });
    expect(m2).toMatchObject({ status: 'fulfilled', value: { ok: true, seq: 3, duplicate: false } });
    expect(await s.submitToHub(app('m3'), HUB, 4)).toMatchObject({ ok: true, seq: 4 });
    expect(await s.submitToHub(app('m1'), HUB, 5)).toMatchObject({ ok: true, seq: 2, duplicate: true });
    expect((await s.fetchInbox('bob', 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('groups an acknowledgement into one receipt per sender and conversation, as aggregateReceipts does', async () => {
    await open(['alice', 'bob', 'carol']);
    for (const conv of ['c', 'd']) {
      await s.createConversation(conv, A, 1);
      await s.submitToHub({ ...app('c0'), conversationId: conv, kind: 'commit', epoch: 0, members: [A, B, C] }, HUB, 2);
    }
    await s.submitToHub(app('a1'), HUB, 3);
    await s.submitToHub({ ...app('a2'), conversationId: 'd' }, HUB, 3);
    await s.submitToHub({ ...app('k1'), sender: C }, HUB, 3);
    await s.submitToHub(app('a3'), HUB, 3);
    await s.addRemoteMember('x', 'globex.example', 'bob');
    await s.storeDeliveries([partnerMsg(9)], 4);
    await s.storeReceipts(
      [{ conversationId: 'c', hub: HUB, seq: 2, messageId: 'x', sender: B, status: 'delivered', by: C, messageIds: ['x'] }],
      4,
    );
    const entries = await s.fetchInbox('bob', 0, 100);
    expect(entries).toHaveLength(8);
    const ids = entries.map((e) => e.id).reverse();
    const { acked, delivered } = await s.ackInbox('bob', [...ids, 999_999]);
    expect(acked).toBe(8);
    const expected = aggregateReceipts(
      entries.filter((e) => e.kind !== 'receipt'),
      'delivered',
      B,
    ).map(({ status: _, by: __, ...g }) => g);
    const key = (g: { sender: string; conversationId: string }) => `${g.sender} ${g.conversationId}`;
    expect([...delivered].sort((x, y) => key(x).localeCompare(key(y)))).toEqual([...expected].sort((x, y) => key(x).localeCompare(key(y))));
    expect(delivered.find((g) => g.sender === A && g.conversationId === 'c')).toEqual({
      conversationId: 'c',
      hub: HUB,
      sender: A,
      seq: 4,
      messageId: 'a3',
      messageIds: ['c0', 'a1', 'a3'],
    });
    expect(await s.fetchInbox('bob', 0, 100)).toEqual([]);
    expect(await s.ackInbox('bob', ids)).toEqual({ acked: 0, delivered: [] });
  });

  it('answers hub refusals: unknown conversation, non-member, stale commit, ahead epoch, reused id', async () => {
    await open(['alice', 'bob', 'carol']);
    expect(await s.submitToHub(app('m'), HUB, 1)).toMatchObject({ ok: false, code: 'not_found' });
    expect(await s.createConversation('c', A, 1)).toBe(true);
    expect(await s.createConversation('c', B, 1)).toBe(false);
    expect(await s.getConversation('c')).toEqual({ id: 'c', epoch: 0, members: [A], createdBy: A });
    expect(await s.submitToHub({ ...app('c0'), kind: 'commit', epoch: 0, members: [A, B, B] }, HUB, 2)).toMatchObject({ ok: true, seq: 1 });
    expect(await s.getConversation('c')).toMatchObject({ epoch: 1, members: [A, B] });
    expect(await s.submitToHub({ ...app('x'), sender: C }, HUB, 3)).toMatchObject({ ok: false, code: 'forbidden' });
    expect(await s.submitToHub({ ...app('c1'), kind: 'commit', epoch: 0, members: [A, B] }, HUB, 3)).toMatchObject({
      ok: false,
      code: 'epoch_conflict',
      currentEpoch: 1,
    });
    expect(await s.submitToHub({ ...app('y'), epoch: 5 }, HUB, 3)).toMatchObject({ ok: false, code: 'bad_request' });
    expect(await s.submitToHub({ ...app('c0'), sender: B }, HUB, 3)).toMatchObject({ ok: false, code: 'conflict' });
    // a retried commit is answered as before although the epoch moved on
    expect(await s.submitToHub({ ...app('c0'), kind: 'commit', epoch: 0, members: [A, B] }, HUB, 4)).toMatchObject({
      ok: true,
      seq: 1,
      duplicate: true,
    });
    const w = await s.submitToHub({ ...app('w'), kind: 'welcome', recipients: [B] }, HUB, 5);
    expect(w).toMatchObject({ ok: true, seq: 2, remotePeers: [] });
    expect(w.ok && w.local.map((l) => l.deviceId)).toEqual(['bob']);
  });

  it('decides submissions that arrive together in arrival order, as one at a time would', async () => {
    await open(['alice', 'bob', 'carol', 'dave']);
    const G = 'gina@globex.example';
    await s.createConversation('c', A, 1);
    await s.createConversation('d', A, 1);
    await s.submitToHub({ ...app('c0'), kind: 'commit', epoch: 0, members: [A, B, G] }, HUB, 2);
    await s.submitToHub({ ...app('d0'), conversationId: 'd', kind: 'commit', epoch: 0, members: [A, B, `dave@${HUB}`] }, HUB, 2);
    await s.revokeDevice('dave', 2);
    // one batch (the stores group what arrives while they commit): each is decided as if alone, in this order
    const results = await Promise.all([
      s.submitToHub(app('m1', 'AAAB'), HUB, 3),
      s.submitToHub({ ...app('early'), sender: C }, HUB, 3),
      s.submitToHub({ ...app('d1'), conversationId: 'd' }, HUB, 3),
      s.submitToHub({ ...app('c1'), kind: 'commit', epoch: 1, members: [A, B, C, G] }, HUB, 3),
      s.submitToHub({ ...app('m2', 'AAAC'), epoch: 2 }, HUB, 3),
      s.submitToHub(app('m1', 'AAAB'), HUB, 3),
      s.submitToHub({ ...app('m1'), sender: B }, HUB, 3),
      s.submitToHub({ ...app('stale'), kind: 'commit', epoch: 1, members: [A, B] }, HUB, 3),
      s.submitToHub({ ...app('z'), conversationId: 'nowhere' }, HUB, 3),
      s.submitToHub({ ...app('m3'), sender: C, epoch: 2 }, HUB, 3),
    ]);
    const brief = results.map((r) => (r.ok ? [r.seq, r.duplicate, r.local.map((l) => l.deviceId), r.remotePeers] : [r.code]));
    expect(brief).toEqual([
      [2, false, ['bob'], ['globex.example']],
      ['forbidden'],
      [2, false, ['bob'], []],
      [3, false, ['bob', 'carol'], ['globex.example']],
      [4, false, ['bob', 'carol'], ['globex.example']],
      [2, true, [], []],
      ['conflict'],
      ['epoch_conflict'],
      ['not_found'],
      [5, false, ['alice', 'bob'], ['globex.example']],
    ]);
    expect(await s.getConversation('c')).toMatchObject({ epoch: 2, members: [A, B, C, G] });
    // each conversation's entries in arrival order (conversations may commit side by side), payloads as sent; nothing for the revoked dave
    const inbox = async (d: string, conv = 'c') =>
      (await s.fetchInbox(d, 0, 100))
        .filter((e) => e.conversationId === conv)
        .map((e) => [e.conversationId, e.seq, e.messageId, e.payload]);
    expect(await inbox('bob')).toEqual([
      ['c', 1, 'c0', 'AAAA'],
      ['c', 2, 'm1', 'AAAB'],
      ['c', 3, 'c1', 'AAAA'],
      ['c', 4, 'm2', 'AAAC'],
      ['c', 5, 'm3', 'AAAA'],
    ]);
    expect(await inbox('bob', 'd')).toEqual([
      ['d', 1, 'd0', 'AAAA'],
      ['d', 2, 'd1', 'AAAA'],
    ]);
    expect(await inbox('carol')).toEqual([
      ['c', 3, 'c1', 'AAAA'],
      ['c', 4, 'm2', 'AAAC'],
    ]);
    expect(await inbox('dave', 'd')).toEqual([['d', 1, 'd0', 'AAAA']]);
    const ids = (await s.fetchInbox('bob', 0, 100)).map((e) => e.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect((await s.peekOutbox('globex.example', 10)).map((r) => r.item.type === 'deliver' && [r.item.seq, r.item.recipients])).toEqual([
      [1, ['gina']],
      [2, ['gina']],
      [3, ['gina']],
      [4, ['gina']],
      [5, ['gina']],
    ]);
    expect(await s.submitToHub(app('m4'), HUB, 4)).toMatchObject({ ok: true, seq: 6 });
  });

  it('routes remote members to the outbox, once per peer, and drains it by id', async () => {
    await open(['alice', 'bob']);
    const G = 'gina@globex.example',
      I = 'ivan@initech.example';
    await s.createConversation('c', A, 1);
    const r = await s.submitToHub({ ...app('c0'), kind: 'commit', epoch: 0, members: [A, B, G, I] }, HUB, 2);
    expect(r.ok && [...r.remotePeers].sort()).toEqual(['globex.example', 'initech.example']);
    expect(r.ok && r.local.map((l) => [l.deviceId, l.entry.messageId])).toEqual([['bob', 'c0']]);
    await s.enqueueOutbox([
      {
        peer: 'globex.example',
        item: {
          type: 'receipt',
          conversationId: 'c',
          hub: HUB,
          seq: 1,
          messageId: 'c0',
          sender: G,
          status: 'delivered',
          by: B,
          messageIds: ['c0'],
        },
      },
    ]);
    expect((await s.outboxPeers()).sort()).toEqual(['globex.example', 'initech.example']);
    const rows = await s.peekOutbox('globex.example', 10);
    expect(rows.map((x) => x.item.type)).toEqual(['deliver', 'receipt']);
    expect(rows[0]!.item).toMatchObject({ type: 'deliver', recipients: ['gina'], seq: 1, payload: 'AAAA' });
    expect(await s.peekOutbox('globex.example', 10, rows[0]!.id)).toEqual([rows[1]]);
    expect(await s.peekOutbox('globex.example', 1)).toEqual([rows[0]]);
    await s.deleteOutbox(rows.map((x) => x.id));
    expect(await s.peekOutbox('globex.example', 10)).toEqual([]);
    expect(await s.outboxPeers()).toEqual(['initech.example']);
  });

  it('stores a partner delivery or receipt once, only for active devices, and pages the inbox by id', async () => {
    await open(['bob', 'carol']);
    // the Welcome makes bob and carol members of globex's conversation x (nobody is no device here)
    const welcome: Delivery = { ...partnerMsg(1, ['bob', 'carol', 'nobody']), kind: 'welcome' };
    expect((await s.storeDeliveries([welcome], 5)).map((e) => e.deviceId).sort()).toEqual(['bob', 'carol']);
    expect(await s.storeDeliveries([{ ...welcome, recipients: ['bob'] }], 6)).toEqual([]);
    const receipt = partnerReceipt(['m', 'n']);
    expect(await s.storeReceipts([receipt], 7)).toHaveLength(1);
    expect(await s.storeReceipts([receipt], 7)).toEqual([]);
    expect(await s.revokeDevice('carol', 8)).toBe(true);
    expect(await s.storeDeliveries([partnerMsg(2, ['bob', 'carol'])], 9)).toHaveLength(1);
    const all = await s.fetchInbox('bob', 0, 100);
    expect(all.map((e) => e.kind)).toEqual(['welcome', 'receipt', 'application']);
    expect(all[0]).toEqual({
      id: all[0]!.id,
      kind: 'welcome',
      conversationId: 'x',
      hub: 'globex.example',
      seq: 1,
      messageId: 'g1',
      epoch: 1,
      sender: 'gina@globex.example',
      payload: 'AAAA',
      receivedAt: 5,
    });
    expect(all[1]!.receipt).toEqual({ status: 'partner', by: 'globex.example', messageIds: ['m', 'n'] });
    expect(all[0]!.id).toBeLessThan(all[1]!.id);
    expect(await s.fetchInbox('bob', all[0]!.id, 1)).toEqual([all[1]]);
    expect(await s.fetchInbox('carol', 0, 100)).toHaveLength(1);
    expect(await s.expireInbox(7)).toBe(2);
    expect((await s.fetchInbox('bob', 0, 100)).map((e) => e.receivedAt)).toEqual([7, 9]);
  });

  it('enrolls once per code (stored as given, a hash), only before expiry and only for the employee it names', async () => {
    await open();
    await s.createEnrollCode({ code: 'h1', employeeId: 'alice', displayName: 'Alice', expiresAt: 100 });
    await s.createEnrollCode({ code: 'h2', employeeId: 'bob', displayName: 'Bob', expiresAt: 100 });
    expect(await s.getEnrollCode('h1', 50)).toEqual({ code: 'h1', employeeId: 'alice', displayName: 'Alice', expiresAt: 100 });
    expect(await s.getEnrollCode('h1', 100)).toBeNull();
    expect(await s.getEnrollCode('nope', 1)).toBeNull();
    // the code names bob, the certificate alice: nothing changes
    expect(await s.enrollDevice('h2', fresh('x', 'x'), 50)).toBe('invalid_code');
    expect(await s.getEnrollCode('h2', 50)).not.toBeNull();
    expect(await s.enrollDevice('h2', fresh('b1', 'b1', 'bob', 'Bob'), 100)).toBe('invalid_code');
    expect(await s.enrollDevice('h1', fresh('a1', 'a1'), 50)).toBe('ok');
    expect(await s.getEnrollCode('h1', 50)).toBeNull();
    expect(await s.enrollDevice('h1', fresh('a2', 'a2'), 50)).toBe('invalid_code');
    expect((await s.getDevice('a1'))?.devicePublicKey).toBe('d-a1');
    expect(await s.getDevice('a2')).toBeNull();
    await expect(s.createEnrollCode({ code: 'h1', employeeId: 'x', displayName: 'X', expiresAt: 100 })).rejects.toThrow();
  });

  it('enrolls a device key or an MLS key only once; a refused enrollment leaves its code unused', async () => {
    await open();
    for (const c of ['h1', 'h2']) await s.createEnrollCode({ code: c, employeeId: 'alice', displayName: 'Alice', expiresAt: 100 });
    expect(await s.enrollDevice('h1', fresh('a1', 'a1'), 50)).toBe('ok');
    expect(await s.enrollDevice('h2', { ...fresh('a2', 'a2'), devicePublicKey: 'd-a1' }, 50)).toBe('key_enrolled');
    expect(await s.enrollDevice('h2', { ...fresh('a2', 'a2'), mlsSignatureKey: 'm-a1' }, 50)).toBe('key_enrolled');
    // one device's key as the other's MLS key
    expect(await s.enrollDevice('h2', { ...fresh('a2', 'a2'), mlsSignatureKey: 'd-a1' }, 50)).toBe('key_enrolled');
    expect(await s.getEnrollCode('h2', 50)).not.toBeNull();
    expect(await s.enrollDevice('h2', fresh('a2', 'a2'), 50)).toBe('ok');
  });

  it('lists, finds and revokes devices; revocation drops key packages and is numbered', async () => {
    await open(['alice', 'bob']);
    expect(await s.revocationSeq()).toBe(0);
    await s.addDevice({ ...device('alice2'), employeeId: 'alice', createdAt: 2 });
    expect((await s.listDevices({ employeeId: 'alice' })).map((d) => d.deviceId)).toEqual(['alice', 'alice2']);
    expect(await s.getDevice('bob')).toEqual(device('bob'));
    expect(await s.getDevice('nobody')).toBeNull();
    await s.addKeyPackages('bob', ['p1'], 'lr');
    expect(await s.revokeDevice('bob', 10)).toBe(true);
    expect(await s.revokeDevice('bob', 11)).toBe(false);
    expect(await s.countKeyPackages('bob')).toEqual({ available: 0, lastResort: false });
    expect((await s.getDevice('bob'))!.revokedAt).toBe(10);
    expect((await s.listDevices()).map((d) => d.deviceId)).toEqual(['alice', 'alice2']);
    expect((await s.listDevices({ includeRevoked: true })).length).toBe(3);
    const seq = await s.revocationSeq();
    expect(seq).toBeGreaterThan(0);
    expect(await s.revocationsAfter(0)).toEqual([{ seq, deviceId: 'bob' }]);
    expect(await s.revocationsAfter(seq)).toEqual([]);
  });

  it('hands out one-time key packages once each, then the last-resort one, which stays', async () => {
    await open(['alice', 'bob']);
    expect(await s.addKeyPackages('bob', ['p1', 'p2'], 'lr1')).toBe(3);
    expect(await s.addKeyPackages('bob', [], 'lr2')).toBe(1);
    expect(await s.countKeyPackages('bob')).toEqual({ available: 2, lastResort: true });
    const claims = await Promise.all([s.claimKeyPackages(['bob', 'alice']), s.claimKeyPackages(['bob'])]);
    expect(
      claims
        .flat()
        .map((c) => c.keyPackage)
        .sort(),
    ).toEqual(['p1', 'p2']);
    expect(await s.claimKeyPackages(['bob'])).toEqual([{ deviceId: 'bob', keyPackage: 'lr2', lastResort: true }]);
    expect(await s.claimKeyPackages(['bob'])).toEqual([{ deviceId: 'bob', keyPackage: 'lr2', lastResort: true }]);
    expect(await s.countKeyPackages('alice')).toEqual({ available: 0, lastResort: false });
  });

  it('keeps contacts, their members and partners', async () => {
    await open();
    await s.upsertContact('sales', 'Sales');
    await s.upsertContact('sales', 'Sales EU');
    await s.upsertContact('ops', 'Ops');
    await s.setContactMembers('sales', ['bob', 'alice', 'bob'], []);
    await s.setContactMembers('sales', ['carol'], ['bob']);
    expect(await s.getContact('sales')).toEqual({ id: 'sales', name: 'Sales EU', members: ['alice', 'carol'] });
    expect(await s.listContacts()).toEqual([
      { id: 'ops', name: 'Ops', members: [] },
      { id: 'sales', name: 'Sales EU', members: ['alice', 'carol'] },
    ]);
    expect(await s.removeContact('sales')).toBe(true);
    expect(await s.removeContact('sales')).toBe(false);
    expect(await s.getContact('sales')).toBeNull();
    await s.setPartner('globex.example', 'pending', 'fp1');
    await s.setPartner('globex.example', 'admitted', null);
    await s.setPartner('a.example', 'admitted', null);
    expect(await s.getPartner('globex.example')).toMatchObject({ domain: 'globex.example', status: 'admitted', fingerprint: 'fp1' });
    expect((await s.listPartners()).map((p) => p.domain)).toEqual(['a.example', 'globex.example']);
    expect(await s.removePartner('a.example')).toBe(true);
    expect(await s.getPartner('a.example')).toBeNull();
    expect(await s.getMeta('k')).toBeNull();
    await s.setMeta('k', 'v1');
    await s.setMeta('k', 'v2');
    expect(await s.getMeta('k')).toBe('v2');
  });

  it('two stores on one database: a code enrolls one device and a key one device, whoever is first', async () => {
    await open();
    await second();
    for (const c of ['h1', 'h2', 'h3']) await s.createEnrollCode({ code: c, employeeId: 'alice', displayName: 'Alice', expiresAt: 100 });
    const sameCode = await Promise.all([s.enrollDevice('h1', fresh('a1', 'a1'), 50), t!.enrollDevice('h1', fresh('a2', 'a2'), 50)]);
    expect(sameCode.sort()).toEqual(['invalid_code', 'ok']);
    const sameKey = await Promise.all([s.enrollDevice('h2', fresh('a3', 'k'), 50), t!.enrollDevice('h3', fresh('a4', 'k'), 50)]);
    expect(sameKey.sort()).toEqual(['key_enrolled', 'ok']);
    expect((await t!.listDevices()).length).toBe(2);
  });

  it('keeps one identity key per employee: another key is refused and leaves the code unused', async () => {
    await open();
    for (const c of ['h1', 'h2', 'h3']) await s.createEnrollCode({ code: c, employeeId: 'alice', displayName: 'Alice', expiresAt: 100 });
    expect(await s.getIdentity('alice')).toBeNull();
    expect(await s.enrollDevice('h1', fresh('a1', 'a1'), 50, identity('K1'))).toBe('ok');
    expect(await s.getIdentity('alice')).toEqual(identity('K1'));
    expect(await s.enrollDevice('h2', fresh('a2', 'a2'), 50, identity('K2'))).toBe('identity_exists');
    expect(await s.getDevice('a2')).toBeNull();
    expect(await s.getEnrollCode('h2', 50)).not.toBeNull();
    // a second device of the same identity, and one enrolled without one, leave the identity as it was
    expect(await s.enrollDevice('h2', fresh('a2', 'a2'), 50, { ...identity('K1'), createdAt: 60 })).toBe('ok');
    expect(await s.enrollDevice('h3', fresh('a3', 'a3'), 50)).toBe('ok');
    expect(await s.getIdentity('alice')).toEqual(identity('K1'));
  });

  it('an identity reset forgets the identity: the next enrollment certifies another key', async () => {
    await open();
    for (const c of ['h1', 'h2', 'h3']) await s.createEnrollCode({ code: c, employeeId: 'alice', displayName: 'Alice', expiresAt: 100 });
    expect(await s.removeIdentity('alice')).toBe(false);
    expect(await s.enrollDevice('h1', fresh('a1', 'a1'), 50, identity('K1'))).toBe('ok');
    expect(await s.enrollDevice('h2', fresh('a2', 'a2'), 50, identity('K2'))).toBe('identity_exists');
    expect(await s.removeIdentity('alice')).toBe(true);
    expect(await s.getIdentity('alice')).toBeNull();
    expect(await s.enrollDevice('h2', fresh('a2', 'a2'), 50, identity('K2'))).toBe('ok');
    expect((await s.getIdentity('alice'))?.identityKey).toBe('K2');
    expect(await s.enrollDevice('h3', fresh('a3', 'a3'), 50, identity('K1'))).toBe('identity_exists');
  });

  it('two stores on one database: two first devices of one employee with different identity keys, one wins', async () => {
    await open();
    await second();
    for (const c of ['h1', 'h2']) await s.createEnrollCode({ code: c, employeeId: 'alice', displayName: 'Alice', expiresAt: 100 });
    const both = await Promise.all([
      s.enrollDevice('h1', fresh('a1', 'a1'), 50, identity('K1')),
      t!.enrollDevice('h2', fresh('a2', 'a2'), 50, identity('K2')),
    ]);
    expect([...both].sort()).toEqual(['identity_exists', 'ok']);
    // the identity kept is the one whose device was enrolled
    const [key, dev] = both[0] === 'ok' ? ['K1', 'a1'] : ['K2', 'a2'];
    expect((await t!.getIdentity('alice'))?.identityKey).toBe(key);
    expect((await s.listDevices()).map((d) => d.deviceId)).toEqual([dev]);
  });

  it('numbers revocations from two stores in one increasing sequence', async () => {
    await open(['alice', 'bob', 'carol']);
    await second();
    await Promise.all([s.revokeDevice('bob', 5), t!.revokeDevice('carol', 5)]);
    await s.revokeDevice('alice', 6);
    const all = await t!.revocationsAfter(0);
    expect(
      all
        .map((r) => r.deviceId)
        .slice(0, 2)
        .sort(),
    ).toEqual(['bob', 'carol']);
    expect(all[2]?.deviceId).toBe('alice');
    expect(all.map((r) => r.seq)).toEqual([...all.map((r) => r.seq)].sort((a, b) => a - b));
    expect(new Set(all.map((r) => r.seq)).size).toBe(3);
    expect(await s.revocationSeq()).toBe(all[2]!.seq);
    expect(await s.revocationsAfter(all[1]!.seq)).toEqual([all[2]]);
  });

  it('takes a federation nonce once, across stores, until it expires', async () => {
    await open();
    await second();
    expect(await s.useNonce('peer.example/n1', 1_000, 0)).toBe(true);
    expect(await s.useNonce('peer.example/n1', 1_000, 10)).toBe(false);
    expect(await t!.useNonce('peer.example/n1', 1_000, 20)).toBe(false);
    const race = await Promise.all([s.useNonce('peer.example/n2', 1_000, 30), t!.useNonce('peer.example/n2', 1_000, 30)]);
    expect(race.sort()).toEqual([false, true]);
    // past their expiry the rows go on the way: the same key is new again (the timestamp check refuses it by then)
    expect(await t!.useNonce('peer.example/n3', 5_000, 2_000)).toBe(true);
    expect(await s.useNonce('peer.example/n1', 5_000, 2_001)).toBe(true);
  });

  it('stores a partner request with its nonce in one write: a replay stores nothing, also after the first was acknowledged', async () => {
    await open(['bob']);
    await second();
    const nonce = { key: 'globex.example/r1', expiresAt: 1_000 };
    const welcome: Delivery = { ...partnerMsg(1, ['bob']), kind: 'welcome' };
    const receipt = partnerReceipt(['m']);
    const first = await s.storeFromPeer(nonce, [welcome, partnerMsg(2)], [receipt], 5);
    expect(first?.map((e) => [e.deviceId, e.entry.kind, e.entry.payload])).toEqual([
      ['bob', 'welcome', 'AAAA'],
      ['bob', 'application', 'AAAA'],
      ['bob', 'receipt', undefined],
    ]);
    // the device takes them: the inbox's own deduplication has nothing left to refuse a copy with
    expect(
      (
        await s.ackInbox(
          'bob',
          first!.map((e) => e.entry.id),
        )
      ).acked,
    ).toBe(3);
    expect(await s.storeFromPeer(nonce, [partnerMsg(2)], [receipt], 6)).toBeNull();
    expect(await t!.storeFromPeer(nonce, [partnerMsg(2)], [], 7)).toBeNull();
    expect(await s.fetchInbox('bob', 0, 100)).toEqual([]);
    // the nonce is the one useNonce records
    expect(await s.useNonce(nonce.key, 1_000, 8)).toBe(false);
    expect(await t!.storeFromPeer({ key: 'globex.example/r2', expiresAt: 1_000 }, [partnerMsg(3)], [], 9)).toHaveLength(1);
  });

  it('prunes the hub log past retention, keeping what numbers the next message, page by page', async () => {
    await open(['alice', 'bob']);
    await s.createConversation('c', A, 1);
    await s.submitToHub({ ...app('c0'), kind: 'commit', epoch: 0, members: [A, B] }, HUB, 1);
    await s.submitToHub(app('m1'), HUB, 2);
    await s.submitToHub(app('m2'), HUB, 3);
    expect(await s.pruneLog(3, '')).toEqual({ deleted: 2, next: null });
    // m2 is still known as sent; the newest row is kept even when old
    expect(await s.submitToHub(app('m2'), HUB, 4)).toMatchObject({ ok: true, seq: 3, duplicate: true });
    expect(await s.pruneLog(100, '')).toEqual({ deleted: 0, next: null });
    expect(await s.submitToHub(app('m3'), HUB, 101)).toMatchObject({ ok: true, seq: 4, duplicate: false });
    // what was pruned no longer answers a retry: past retention there is none to answer
    expect(await s.submitToHub(app('m1'), HUB, 102)).toMatchObject({ ok: true, seq: 5, duplicate: false });
    await Promise.all(Array.from({ length: 500 }, (_, i) => s.createConversation(`p${String(i).padStart(3, '0')}`, A, 1)));
    const first = await s.pruneLog(200, '');
    expect(first.next).not.toBeNull();
    const rest = await s.pruneLog(200, first.next!);
    expect(rest.next).toBeNull();
    // c keeps its newest row (seq 5) only
    expect(first.deleted + rest.deleted).toBe(2);
  });

  it("takes a partner hub's deliveries only for its own conversations and only for devices it welcomed", async () => {
    await open(['alice', 'bob', 'carol']);
    await s.createConversation('c', A, 1);
    const g = { hub: 'globex.example', epoch: 1, sender: 'gina@globex.example', payload: 'AAAA' };
    // into a conversation hosted here: nothing, whatever the kind
    for (const kind of ['welcome', 'commit', 'application'] as const) {
      expect(
        await s.storeDeliveries([{ ...g, conversationId: 'c', seq: 1, messageId: `x-${kind}`, kind, recipients: ['bob'] }], 2),
      ).toEqual([]);
    }
    expect(await s.isRemoteMember('c', 'globex.example', 'bob')).toBe(false);
    // globex's own conversation: before a Welcome nobody, after it bob only (carol was never welcomed)
    expect(
      await s.storeDeliveries([{ ...g, conversationId: 'x', seq: 1, messageId: 'g1', kind: 'commit', recipients: ['bob', 'carol'] }], 3),
    ).toEqual([]);
    expect(
      await s.storeDeliveries([{ ...g, conversationId: 'x', seq: 2, messageId: 'g2', kind: 'welcome', recipients: ['bob'] }], 3),
    ).toHaveLength(1);
    expect(await s.isRemoteMember('x', 'globex.example', 'bob')).toBe(true);
    const got = await s.storeDeliveries(
      [{ ...g, conversationId: 'x', seq: 3, messageId: 'g3', kind: 'application', recipients: ['bob', 'carol'] }],
      4,
    );
    expect(got.map((r) => r.deviceId)).toEqual(['bob']);
    // another hub using the same conversation id reaches nobody through bob's membership
    expect(
      await s.storeDeliveries(
        [{ ...g, hub: 'initech.example', conversationId: 'x', seq: 4, messageId: 'i4', kind: 'application', recipients: ['bob'] }],
        4,
      ),
    ).toEqual([]);
    expect(await s.fetchInbox('carol', 0, 10)).toEqual([]);
    // carol's own send forwarded to globex makes her a member (delivery.ts); twice changes nothing
    await s.addRemoteMember('x', 'globex.example', 'carol');
    await s.addRemoteMember('x', 'globex.example', 'carol');
    expect(
      (
        await s.storeDeliveries([{ ...g, conversationId: 'x', seq: 5, messageId: 'g5', kind: 'application', recipients: ['carol'] }], 5)
      ).map((r) => r.deviceId),
    ).toEqual(['carol']);
  });

  it('hands a device whose claim budget is spent only its last-resort package', async () => {
    await open(['alice', 'bob']);
    await s.addKeyPackages('bob', ['p1', 'p2'], 'lr');
    await s.addKeyPackages('alice', ['a1'], 'alr');
    expect(await s.claimKeyPackages(['bob', 'alice'], ['bob'])).toEqual([
      { deviceId: 'bob', keyPackage: 'lr', lastResort: true },
      { deviceId: 'alice', keyPackage: 'a1', lastResort: false },
    ]);
    expect(await s.countKeyPackages('bob')).toEqual({ available: 2, lastResort: true });
  });

  it('link sessions: a code joins once, B posts only after a join and twice, 20 messages in all, one certificate, only the joined device is A', async () => {
    await open();
    const l = linkSession(1);
    expect(await s.openLinkSession(l, 0, MAX_LIVE)).toBe('ok');
    // a live session keeps its code
    expect(await s.openLinkSession({ ...linkSession(2), locator: l.locator }, 1, MAX_LIVE)).toBe('conflict');
    expect(await s.postLinkMessage(l.sessionId, sideB, 'b0', 2)).toEqual({ ok: false, code: 'not_yet' });
    expect(await s.joinLinkSession(l.locator, 'dA', 3)).toEqual({
      ok: true,
      sessionId: l.sessionId,
      commitment: l.commitment,
      expiresAt: l.expiresAt,
    });
    // single use: the code leads nowhere now, for this device or another
    expect(await s.joinLinkSession(l.locator, 'dA', 4)).toEqual({ ok: false });
    expect(await s.joinLinkSession(l.locator, 'dOther', 4)).toEqual({ ok: false });
    expect(await s.postLinkMessage(l.sessionId, sideA('dA'), 'a0', 5)).toEqual({ ok: true, index: 0 });
    expect(await s.postLinkMessage(l.sessionId, sideB, 'b1', 6)).toEqual({ ok: true, index: 1 });
    expect(await s.postLinkMessage(l.sessionId, sideB, 'b2', 6)).toEqual({ ok: true, index: 2 });
    expect(await s.postLinkMessage(l.sessionId, sideB, 'b3', 6)).toEqual({ ok: false, code: 'not_yet' });
    // another device is not A of this session, whatever it tries
    expect(await s.postLinkMessage(l.sessionId, sideA('dOther'), 'x', 7)).toEqual({ ok: false, code: 'not_found' });
    expect(await s.readLinkMessages(l.sessionId, sideA('dOther'), -1, 7)).toBeNull();
    expect(await s.certifyLinkSession(l.sessionId, 'dOther', 7)).toBe('not_found');
    // each side reads the other's messages only, after an index
    expect(await s.readLinkMessages(l.sessionId, sideB, -1, 8)).toEqual({ messages: [{ index: 0, body: 'a0' }], certified: false });
    expect(await s.readLinkMessages(l.sessionId, sideA('dA'), 1, 8)).toEqual({ messages: [{ index: 2, body: 'b2' }], certified: false });
    expect(await s.certifyLinkSession(l.sessionId, 'dA', 9)).toBe('ok');
    expect(await s.certifyLinkSession(l.sessionId, 'dA', 9)).toBe('conflict');
    expect((await s.readLinkMessages(l.sessionId, sideB, 0, 10))?.certified).toBe(true);
    for (let i = 3; i < LINK.messagesPerSession; i++)
      expect(await s.postLinkMessage(l.sessionId, sideA('dA'), `a${i}`, 11)).toEqual({ ok: true, index: i });
    expect(await s.postLinkMessage(l.sessionId, sideA('dA'), 'one too many', 12)).toEqual({ ok: false, code: 'full' });
    expect((await s.readLinkMessages(l.sessionId, sideB, -1, 13))?.messages).toHaveLength(LINK.messagesPerSession - 2);
    // an unknown session is nobody's
    expect(await s.readLinkMessages(linkSession(9).sessionId, sideB, -1, 13)).toBeNull();
  });

  it('link sessions expire for both sides; the code opens again; live sessions are capped; pruning forgets expired ones with their messages', async () => {
    await open();
    const l = linkSession(1);
    await s.openLinkSession(l, 0, MAX_LIVE);
    await s.joinLinkSession(l.locator, 'dA', 1);
    await s.postLinkMessage(l.sessionId, sideA('dA'), 'a0', 2);
    const unjoined = linkSession(2);
    await s.openLinkSession(unjoined, 0, MAX_LIVE);
    // at most maxLive live sessions: a flood of opens cannot grow the table without bound
    expect(await s.openLinkSession(linkSession(4), 3, 2)).toBe('full');
    const end = l.expiresAt;
    expect(await s.readLinkMessages(l.sessionId, sideB, -1, end)).toBeNull();
    expect(await s.readLinkMessages(l.sessionId, sideA('dA'), -1, end)).toBeNull();
    expect(await s.postLinkMessage(l.sessionId, sideA('dA'), 'late', end)).toEqual({ ok: false, code: 'not_found' });
    expect(await s.certifyLinkSession(l.sessionId, 'dA', end)).toBe('not_found');
    expect(await s.joinLinkSession(unjoined.locator, 'dA', end)).toEqual({ ok: false });
    // the expired session under this code makes way for a new one
    const again = { ...linkSession(3), locator: unjoined.locator, expiresAt: end * 2 };
    expect(await s.openLinkSession(again, end, 2)).toBe('ok');
    expect(await s.pruneLinkSessions(end)).toBe(1);
    expect(await s.pruneLinkSessions(end)).toBe(0);
    expect((await s.joinLinkSession(again.locator, 'dA', end + 1)).ok).toBe(true);
    expect(await s.readLinkMessages(again.sessionId, sideA('dA'), -1, end + 1)).toEqual({ messages: [], certified: false });
  });

  it('two stores on one database: one device joins a code, racing posts get distinct indexes and never pass the caps', async () => {
    await open();
    await second();
    const l = linkSession(1);
    await s.openLinkSession(l, 0, MAX_LIVE);
    const joins = await Promise.all([s.joinLinkSession(l.locator, 'dA', 1), t!.joinLinkSession(l.locator, 'dB', 1)]);
    expect(joins.filter((j) => j.ok)).toHaveLength(1);
    const a = sideA(joins[0]!.ok ? 'dA' : 'dB');
    const posts = await Promise.all(
      Array.from({ length: LINK.messagesPerSession + 4 }, (_, i) => (i % 2 ? s : t!).postLinkMessage(l.sessionId, a, `m${i}`, 2)),
    );
    const indexes = posts.flatMap((p) => (p.ok ? [p.index] : []));
    expect(indexes.sort((x, y) => x - y)).toEqual(Array.from({ length: LINK.messagesPerSession }, (_, i) => i));
    expect(posts.filter((p) => !p.ok)).toEqual(Array.from({ length: 4 }, () => ({ ok: false, code: 'full' })));
    const certs = await Promise.all([
      s.certifyLinkSession(l.sessionId, a.deviceId!, 3),
      t!.certifyLinkSession(l.sessionId, a.deviceId!, 3),
    ]);
    expect(certs.sort()).toEqual(['conflict', 'ok']);
  });
});
