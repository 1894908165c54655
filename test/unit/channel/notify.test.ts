import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChannelEvent, Person } from '../../../src/background/channel';

/** The notifications the fake browser shows, by id; `created` counts create calls. */
const fake = vi.hoisted(() => ({ onScreen: new Map<string, unknown>(), created: [] as { id: string; message: string }[], getAll: 0 }));
vi.mock('webextension-polyfill', () => ({
  default: {
    runtime: { getURL: (p: string) => `chrome-extension://kontor-test/${p}` },
    i18n: { getMessage: (key: string, subs: string[] | string) => `${key}: ${[subs].flat().join(', ')}` },
    notifications: {
      getAll: async () => {
        fake.getAll++;
        return Object.fromEntries([...fake.onScreen.keys()].map((id) => [id, true]));
      },
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
const { setViewing, forgetPage } = await import('../../../src/background/viewing');

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
    fake.getAll = 0;
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

  it('none for a conversation a Kontor page shows on screen, decided before asking the browser; other conversations as before', async () => {
    await notify(incoming('c4', alice));
    fake.onScreen.clear(); // the user dismissed it
    fake.created.length = 0;
    fake.getAll = 0;
    const panel = {}; // a page's port (viewing.ts keys by it)
    setViewing(panel, { conversationId: 'c4', visible: true });
    await notify(incoming('c4', alice));
    expect(fake.created).toEqual([]);
    expect(fake.getAll).toBe(0); // no IPC round trip for it
    await notify(incoming('c5', alice));
    expect(fake.created.map((c) => c.id)).toEqual(['kontor-c5']);
    forgetPage(panel);
  });

  it('notifies again once the page is hidden, shows the list, or closes', async () => {
    const panel = {};
    const leave = {
      hidden: () => setViewing(panel, { conversationId: 'c6', visible: false }),
      list: () => setViewing(panel, { conversationId: null, visible: true }),
      closed: () => forgetPage(panel),
    };
    for (const [how, after] of Object.entries(leave)) {
      setViewing(panel, { conversationId: 'c6', visible: true });
      await notify(incoming('c6', alice));
      expect(fake.created, how).toEqual([]);
      after();
      await notify(incoming('c6', alice));
      expect(
        fake.created.map((c) => c.id),
        how,
      ).toEqual(['kontor-c6']);
      fake.onScreen.clear();
      fake.created.length = 0;
    }
  });
});
