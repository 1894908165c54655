import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { repair } from '../../src/shared/repair';
import type { Area, Areas } from '../../src/background/storage/area';
import { migrate, MIGRATIONS, VERSION_KEY } from '../../src/background/storage/migrations';
import { createStore } from '../../src/background/storage/store';

/** An in-memory storage area with browser.storage's get/set/remove semantics (JSON copies). */
class MemoryArea implements Area {
  data = new Map<string, unknown>();
  constructor(init: Record<string, unknown> = {}) {
    for (const [k, value] of Object.entries(init)) this.data.set(k, structuredClone(value));
  }
  async get(keys: string | string[] | null): Promise<Record<string, unknown>> {
    const wanted = keys === null ? [...this.data.keys()] : typeof keys === 'string' ? [keys] : keys;
    return Object.fromEntries(wanted.filter((k) => this.data.has(k)).map((k) => [k, structuredClone(this.data.get(k))]));
  }
  async set(items: Record<string, unknown>): Promise<void> {
    for (const [k, value] of Object.entries(items)) this.data.set(k, structuredClone(value));
  }
  async remove(keys: string | string[]): Promise<void> {
    for (const k of typeof keys === 'string' ? [keys] : keys) this.data.delete(k);
  }
  dump(): Record<string, unknown> {
    return Object.fromEntries(this.data);
  }
}

function areas(
  local: Record<string, unknown> = {},
  session: Record<string, unknown> = {},
): Areas & { local: MemoryArea; session: MemoryArea } {
  return { local: new MemoryArea(local), session: new MemoryArea(session) };
}

const current = { [VERSION_KEY]: MIGRATIONS.length };

describe('repair', () => {
  const Schema = v.object({
    name: v.optional(v.string()),
    count: v.optional(v.number(), 0),
    pins: v.optional(v.record(v.string(), v.string())),
    list: v.optional(v.array(v.string())),
    note: v.nullable(v.string()),
  });

  it('drops only the bad parts and reports each with its path', () => {
    const r = repair(Schema, { name: 7, count: 'x', pins: { a: 'ok', b: 5 }, list: ['x', 1, 'x'], note: null, extra: true });
    expect(r.ok && r.value).toEqual({ count: 0, pins: { a: 'ok' }, list: ['x'], note: null });
    expect(r.problems.map((p) => [p.path, p.code])).toEqual([
      ['name', 'invalid'],
      ['count', 'invalid'],
      ['pins.b', 'invalid'],
      ['list[1]', 'invalid'],
      ['list[2]', 'duplicate'],
      ['extra', 'unknown_key'],
    ]);
  });

  it('fails a record whose required field is missing or bad, and never throws', () => {
    expect(repair(Schema, {}).ok).toBe(false);
    expect(repair(Schema, { note: 3 }).problems).toEqual([{ path: 'note', code: 'invalid', message: expect.any(String) }]);
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('boom');
        },
      },
    );
    expect(repair(Schema, hostile)).toEqual({ ok: false, problems: [{ path: '', code: 'invalid', message: 'could not be read' }] });
  });
});

describe('stored records', () => {
  it('settings with one bad field keep every other field (the old loader dropped the whole record)', async () => {
    const warnings: string[] = [];
    const a = areas({
      ...current,
      settings: { version: 1, categories: { ads: false, social: 'no', bogus: true }, gateway: 'https://gw.acme.example', retentionDays: 0 },
    });
    const store = createStore(a, (m) => warnings.push(m));
    expect(await store.get('settings')).toEqual({ version: 1, categories: { ads: false }, gateway: 'https://gw.acme.example' });
    expect(warnings.join('\n')).toMatch(/categories\.social: .*categories\.bogus: unknown key.*retentionDays: /s);
  });

  it('a damaged partner directory keeps its good pins and partners, and fills missing parts', async () => {
    const a = areas({
      ...current,
      'partners:directory': {
        user: [{ domain: 'globex.example', addedAt: 1 }, { domain: 5 }],
        pins: { 'globex.example': 'ab:cd', 'x.example': null },
      },
    });
    const store = createStore(a, () => undefined);
    expect(await store.get('directory')).toEqual({
      user: [{ domain: 'globex.example', addedAt: 1 }],
      pins: { 'globex.example': 'ab:cd' },
      warnings: {},
    });
  });

  it('an absent or unusable record reads as its fallback', async () => {
    const store = createStore(
      areas({ ...current, 'channel:meta': { gatewayUrl: 'https://gw.example' }, 'blocking:paused': 'all' }),
      () => undefined,
    );
    expect(await store.get('channelMeta')).toBeUndefined();
    expect(await store.get('paused')).toEqual([]);
    expect(await store.get('settings')).toEqual({});
  });

  it("families keep to their own prefix: the detector's tabs and blocking's tabs do not mix", async () => {
    const tab = {
      tabId: 3,
      url: 'https://globex.example/',
      match: null,
      hint: { domain: 'globex.example', name: 'Globex', reason: 'unconfirmed-profile' },
    };
    const a = areas(
      { ...current },
      {
        'partners:tab:3': tab,
        'partners:tab:4': { tabId: 'x' },
        'blocking:tab:3': { site: null, since: 0, total: 2, hosts: { 't.example': 2 } },
      },
    );
    const store = createStore(a, () => undefined);
    expect([...(await store.entries('partnerTab')).entries()]).toEqual([['3', tab]]);
    expect(await store.getEntry('blockingTab', '3')).toEqual({ site: null, since: 0, total: 2, hosts: { 't.example': 2 } });
    await store.setEntries('blockingTab', { 5: { site: 'a.example', since: 1, total: 0, hosts: {} } });
    await store.removeEntry('partnerTab', '3');
    expect(Object.keys(a.session.dump()).sort()).toEqual(['blocking:tab:3', 'blocking:tab:5', 'partners:tab:4']);
  });
});

describe('storage migrations', () => {
  it('1: moves the old un-namespaced keys under their feature, and records the version', async () => {
    const manifest = { manifest: {}, fingerprint: 'ab', fetchedAt: 1, expiresAt: 2 };
    const a = areas(
      {
        partners: { user: [], pins: {}, warnings: {} },
        'manifest:globex.example': manifest,
        'conv:c1': { partnerDomain: 'globex.example', contact: 'sales' },
        'sync:c1': 5,
        settings: { version: 1 },
        'blocking:paused': ['a.example'],
        'channel:meta': { x: 1 },
      },
      { 'tab:7': { tabId: 7 }, 'blocking:tab:7': { total: 1 }, 'contact:pending': { domain: 'globex.example', at: 1 } },
    );
    expect(await migrate(a)).toBe(1);
    expect(a.local.dump()).toEqual({
      'partners:directory': { user: [], pins: {}, warnings: {} },
      'partners:manifest:globex.example': manifest,
      'channel:conv:c1': { partnerDomain: 'globex.example', contact: 'sales' },
      'channel:sync:c1': 5,
      settings: { version: 1 },
      'blocking:paused': ['a.example'],
      'channel:meta': { x: 1 },
      [VERSION_KEY]: 1,
    });
    expect(a.session.dump()).toEqual({
      'partners:tab:7': { tabId: 7 },
      'blocking:tab:7': { total: 1 },
      'contact:pending': { domain: 'globex.example', at: 1 },
    });
  });

  it("runs each step once, keeps a newer value already under the new key, and leaves a newer build's storage alone", async () => {
    const a = areas({ 'sync:c1': 1, 'channel:sync:c1': 9 });
    await migrate(a);
    expect(a.local.dump()).toEqual({ 'channel:sync:c1': 9, [VERSION_KEY]: 1 });
    await a.local.set({ 'sync:c2': 3 });
    await migrate(a);
    expect(a.local.dump()['sync:c2']).toBe(3); // version 1 reached: step 1 does not run again

    const steps: ((x: Areas) => Promise<void>)[] = [async () => undefined, async (x) => x.local.set({ second: true })];
    const b = areas({ [VERSION_KEY]: 1 });
    expect(await migrate(b, steps)).toBe(2);
    expect(b.local.dump()).toEqual({ [VERSION_KEY]: 2, second: true });
    const future = areas({ [VERSION_KEY]: 99, partners: {} });
    expect(await migrate(future)).toBe(99);
    expect(future.local.dump()).toEqual({ [VERSION_KEY]: 99, partners: {} });
  });

  it('every store access waits for the migrations', async () => {
    const a = areas({ 'conv:c1': { partnerDomain: null, contact: null } });
    const store = createStore(a, () => undefined);
    expect(await store.getEntry('conversation', 'c1')).toEqual({ partnerDomain: null, contact: null });
  });
});
