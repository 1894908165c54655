import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';

/** browser.storage.local as a map: engine-host reads where this browser is enrolled from it. */
const fake = vi.hoisted(() => {
  const data = new Map<string, unknown>();
  const area = {
    reads: 0,
    async get(keys: string | string[] | null) {
      area.reads++;
      const wanted = keys === null ? [...data.keys()] : typeof keys === 'string' ? [keys] : keys;
      return Object.fromEntries(wanted.filter((k) => data.has(k)).map((k) => [k, structuredClone(data.get(k))]));
    },
    async set(items: Record<string, unknown>) {
      for (const [k, value] of Object.entries(items)) data.set(k, structuredClone(value));
    },
    async remove(keys: string | string[]) {
      for (const k of typeof keys === 'string' ? [keys] : keys) data.delete(k);
    },
  };
  return { area };
});
vi.mock('webextension-polyfill', () => ({
  default: {
    storage: { local: fake.area, session: fake.area, onChanged: { addListener: () => undefined } },
    runtime: { id: 'kontor-test', getURL: (p: string) => `chrome-extension://kontor-test/${p}`, sendMessage: async () => undefined },
  },
}));

const { channelDb, requireEngine, saveEnrollment } = await import('../../../src/background/channel/engine-host');
const { Keystore } = await import('../../../src/background/channel/keystore');
const { loadOrCreateIdentity } = await import('../../../src/background/channel/identity');
const { issue, makeOrg } = await import('../../support/hub');

describe('the engine host', () => {
  it('hands out the open engine without reading the keystore, the identity or storage again', async () => {
    const org = await makeOrg('acme.example');
    const db = await channelDb();
    const id = await loadOrCreateIdentity(db, await Keystore.open(db));
    const cert = await issue(org, {
      deviceId: 'alice-1',
      employeeId: 'alice',
      displayName: 'Alice Schmidt',
      devicePublicKey: id.deviceKey.publicKeyB64,
      mlsSignatureKey: id.mlsSignaturePublicB64,
    });
    await saveEnrollment(cert, undefined, {
      gatewayUrl: 'https://gw.acme.example',
      domain: 'acme.example',
      orgName: 'Acme AG',
      orgPublicKey: org.key.publicKeyB64,
    });
    const engine = await requireEngine();
    expect(engine.address).toBe('alice-1@acme.example');

    const dbReads: string[] = [];
    const get = db.get.bind(db) as (...a: unknown[]) => Promise<unknown>;
    (db as { get: unknown }).get = (...a: unknown[]) => {
      dbReads.push(String(a[0]));
      return get(...a);
    };
    const storageReads = fake.area.reads;
    for (let i = 0; i < 3; i++) expect(await requireEngine()).toBe(engine);
    expect(dbReads).toEqual([]);
    expect(fake.area.reads).toBe(storageReads);
  });

  it('concurrent first requests of a fresh worker share one engine', async () => {
    // a fresh module: the worker started again over the same (enrolled) database and storage
    vi.resetModules();
    const host = await import('../../../src/background/channel/engine-host');
    const { ChannelEngine } = await import('../../../src/background/channel');
    const open = vi.spyOn(ChannelEngine, 'open');
    const engines = await Promise.all([host.requireEngine(), host.requireEngine(), host.openEngine().then(() => host.requireEngine())]);
    expect(open).toHaveBeenCalledTimes(1);
    expect(new Set(engines).size).toBe(1);
  });
});
