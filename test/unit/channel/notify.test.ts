import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChannelEvent, Person } from '../../../src/background/channel';

/** The notifications the fake browser shows, by id; `created` counts create calls. */
const fake = vi.hoisted(() => ({ onScreen: new Map<string, unknown>(), created: [] as { id: string; message: string }[] }));
vi.mock('webextension-polyfill', () => ({
  default: {
    runtime: { getURL: (p: string) => `chrome-extension://kontor-test/${p}` },
    i18n: { getMessage: (key: string, subs: string[] | string) => `${key}: ${[subs].flat().join(', ')}` },
    notifications: {
      getAll: async () => Object.fromEntries([...fake.onScreen.keys()].map((id) => [id, true])),
      create: async (id: string, o: { message: string }) => {
        fake.created.push({ id, message: o.message });
        fake.onScreen.set(id, o);
        return id;
      },
    },
  },
}));
vi.mock('../../../src/background/partners/directory', () => ({ listPartners: async () => [] }));

const { notify } = await import('../../../src/background/channel/notify');

const person = (id: string, name: string): Person => ({
  deviceId: id,
  employeeId: id,
  displayName: name,
  orgDomain: 'acme.example',
  address: `${id}@acme.example`,
});
const incoming = (conversationId: string, sender: Person): ChannelEvent => ({
  type: 'message',
  conversationId,
  message: {
    conversationId,
    id: `m${Math.random()}`,
    at: 0,
    direction: 'in',
    state: null,
    seq: 1,
    sender,
    payload: { v: 1, type: 'text', id: 'm', text: 'never in a notification', sentAt: '' },
  },
});

describe('OS notifications for incoming messages', () => {
  const alice = person('alice-1', 'Alice Schmidt');
  const bob = person('bob-1', 'Bob Meyer');
  beforeEach(() => {
    fake.onScreen.clear();
    fake.created.length = 0;
  });

  it('a burst from the same sender raises the notification once while it is on screen', async () => {
    for (let i = 0; i < 3; i++) await notify(incoming('c1', alice));
    expect(fake.created).toEqual([{ id: 'kontor-c1', message: 'notifyBody: Alice Schmidt' }]);
  });

  it('raises it again for another sender, another conversation, or once it was closed', async () => {
    await notify(incoming('c2', alice));
    await notify(incoming('c2', bob));
    await notify(incoming('c3', bob));
    fake.onScreen.clear();
    await notify(incoming('c3', bob));
    expect(fake.created.map((c) => `${c.id} ${c.message}`)).toEqual([
      'kontor-c2 notifyBody: Alice Schmidt',
      'kontor-c2 notifyBody: Bob Meyer',
      'kontor-c3 notifyBody: Bob Meyer',
      'kontor-c3 notifyBody: Bob Meyer',
    ]);
    expect(JSON.stringify(fake.created)).not.toContain('never in a notification');
  });
});
