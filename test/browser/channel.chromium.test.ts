/**
 * The private channel end to end: two real Chromium browsers (an Acme employee and a Globex
 * employee), two real gateway processes (acme.example, globex.example, federated), the
 * partner's public page served on its real-looking hostname. Detection, a real click on
 * "Start private contact", MLS encryption in the extension, delivery through both gateways,
 * decryption and display in the partner's side panel, and the reply back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayHandle } from '../gateway/helpers';
import { employee, shownTexts, startGatewayPair, type Employee } from '../support/channel';
import { startSiteServer, type SiteServer } from '../support/site-server';

let site: SiteServer;
let acme: GatewayHandle;
let globex: GatewayHandle;
let alice: Employee;
let gina: Employee;
let glen: Employee;

const FIRST = 'Hello Globex, Acme here: can you quote 5,000 pressure sensors by Friday?';
const REPLY = 'Hi Alice, yes: 12.40 EUR per unit, delivery in week 32.';

beforeAll(async () => {
  site = await startSiteServer();
  ({ acme, globex } = await startGatewayPair(site));
  [alice, gina] = await Promise.all([
    employee({ sitePort: site.port, gateway: acme, id: 'alice', name: 'Alice Schmidt', partners: ['globex.example'] }),
    employee({ sitePort: site.port, gateway: globex, id: 'gina', name: 'Gina Rossi', partners: ['acme.example'] }),
  ]);
}, 240_000);

afterAll(async () => {
  await Promise.all([alice?.browser.close(), gina?.browser.close(), glen?.browser.close()]);
  await Promise.all([acme?.stop(), globex?.stop()]);
  await site?.close();
});

async function onlyConversation(e: Employee): Promise<string> {
  const { conversations } = await e.ask('channel.list', {});
  if (conversations.length !== 1) throw new Error(`expected one conversation, saw ${conversations.length}`);
  return conversations[0]!.id;
}

describe('private channel (two Chromium browsers, two gateways)', () => {
  it('detects the partner, opens the side panel from a real click, and the partner reads and answers', async () => {
    // Alice visits Globex's public website: Kontor recognises the partner.
    const page = await alice.browser.ctx.newPage();
    await page.goto('https://www.globex.example/');
    type Probe = { mutations: string[]; messages: string[]; probes: Record<string, string> };
    const probe = () => page.evaluate(() => (window as unknown as { __probeDone: Promise<unknown> }).__probeDone) as Promise<Probe>;
    const atLoad = JSON.parse(JSON.stringify(await probe())) as Probe;
    const sw = await alice.browser.worker();
    const tabId = await sw.evaluate(async () => (await chrome.tabs.query({ url: 'https://www.globex.example/*' }))[0]!.id!);
    const popup = await alice.browser.openExtensionPage('popup', `?tab=${tabId}`);
    await expect.poll(() => popup.getByTestId('partner-card').textContent(), { timeout: 15_000 }).toContain('Globex GmbH is a partner');
    await popup.getByTestId('start-contact').click();
    await expect
      .poll(() =>
        sw.evaluate(async () => (await chrome.runtime.getContexts({ contextTypes: ['SIDE_PANEL' as chrome.runtime.ContextType] })).length),
      )
      .toBe(1);

    // The side panel (driven here as a tab) offers Globex's published contacts.
    const panel = alice.panel;
    await panel.reload();
    await panel.getByTestId('contact-sales').click();
    await expect.poll(() => panel.getByTestId('conversation-title').textContent(), { timeout: 30_000 }).toBe('Globex GmbH · Sales');
    await expect.poll(() => panel.getByTestId('conversation-verified').getAttribute('data-verified')).toBe('true');
    await panel.getByTestId('composer').fill(FIRST);
    await panel.getByTestId('composer').press('Enter');
    await expect.poll(() => shownTexts(panel)).toEqual([FIRST]);

    await expect.poll(async () => (await gina.ask('channel.list', {})).conversations.length, { timeout: 30_000 }).toBe(1);
    // Gina's browser raises a notification for the message while her panel shows the list (it
    // names the sender only). Checked before she opens the conversation: one that arrives while
    // it is open on her screen raises none (test "raises no notification ..." below).
    const ginaWorker = await gina.browser.worker();
    const ginaNotified = async () => Object.keys(await ginaWorker.evaluate(() => chrome.notifications.getAll()));
    await expect.poll(async () => (await ginaNotified()).some((id) => id.startsWith('kontor-')), { timeout: 30_000 }).toBe(true);

    // Gina's side panel shows the conversation and the decrypted text, with sender and org.
    await gina.panel.reload();
    await gina.panel.getByTestId('conversation-item').click();
    await expect.poll(() => shownTexts(gina.panel), { timeout: 30_000 }).toEqual([FIRST]);
    const message = gina.panel.getByTestId('message').first();
    expect(await message.textContent()).toContain('Alice Schmidt');
    expect(await message.textContent()).toContain('acme.example');
    await expect.poll(() => gina.panel.getByTestId('conversation-verified').getAttribute('data-verified')).toBe('true');
    // Both sides show the same safety fingerprint.
    expect(await gina.panel.getByTestId('safety-fingerprint').textContent()).toBe(
      await panel.getByTestId('safety-fingerprint').textContent(),
    );

    // The reply comes back to Alice.
    await gina.panel.getByTestId('composer').fill(REPLY);
    await gina.panel.getByTestId('composer').press('Enter');
    await expect.poll(() => shownTexts(panel), { timeout: 30_000 }).toEqual([FIRST, REPLY]);
    // Alice's first message reached the partner.
    await expect.poll(() => panel.getByTestId('delivery').first().getAttribute('data-state'), { timeout: 30_000 }).toBe('delivered');
    // The partner's public page and its scripts observed nothing of all this.
    const after = await probe();
    expect(after).toEqual(atLoad);
    expect(after.messages).toEqual([]);
  });

  it('loses and repeats nothing when the service worker is stopped mid-conversation', async () => {
    const before = (await alice.ask('app.status', {})).startedAt;
    // Stop Alice's background service worker the way the browser does when it idles it out.
    const cdp = await alice.browser.ctx.newCDPSession(alice.panel);
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
    const worker = targetInfos.find((t) => t.type === 'service_worker' && t.url.endsWith('/background.js'));
    expect(worker).toBeTruthy();
    await cdp.send('Target.closeTarget', { targetId: worker!.targetId });
    await new Promise((r) => setTimeout(r, 1000));
    // While Alice's background is stopped, Gina writes three messages.
    const burst = ['While you were away (1)', 'While you were away (2)', 'While you were away (3)'];
    for (const text of burst) {
      await gina.panel.getByTestId('composer').fill(text);
      await gina.panel.getByTestId('composer').press('Enter');
    }
    await expect.poll(() => shownTexts(gina.panel)).toEqual([FIRST, REPLY, ...burst]);
    // Any message to the background wakes it; it reconnects and collects what waited.
    expect((await alice.ask('app.status', {})).startedAt).toBeGreaterThan(before);
    await expect.poll(async () => (await alice.ask('channel.identity', {})).connected, { timeout: 30_000 }).toBe(true);
    const view = async () =>
      (await alice.ask('channel.view', { conversationId: await onlyConversation(alice) })).messages.map((m) => m.text).filter(Boolean);
    await expect.poll(view, { timeout: 30_000 }).toEqual([FIRST, REPLY, ...burst]);
    // The restarted worker sends with fresh keys: Gina gets the next message exactly once.
    await alice.ask('channel.send', { conversationId: await onlyConversation(alice), text: 'Back again' });
    await expect.poll(() => shownTexts(gina.panel), { timeout: 30_000 }).toEqual([FIRST, REPLY, ...burst, 'Back again']);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await view()).toEqual([FIRST, REPLY, ...burst, 'Back again']);
  });

  it('a colleague who joins the contact reads only new messages; a revoked device reads nothing new', async () => {
    const conversationId = await onlyConversation(alice);
    glen = await employee({ sitePort: site.port, gateway: globex, id: 'glen', name: 'Glen Park', partners: ['acme.example'] });
    await globex.admin(['contacts', 'add', 'sales', '--member', 'glen']);
    expect(await alice.ask('channel.syncMembers', { conversationId })).toEqual({ added: 1, removed: 0 });
    const texts = async (e: Employee) => {
      const list = await e.ask('channel.list', {});
      if (!list.conversations.length) return [];
      return (await e.ask('channel.view', { conversationId })).messages.map((m) => m.text).filter(Boolean);
    };
    await expect.poll(async () => (await glen.ask('channel.list', {})).conversations.length, { timeout: 30_000 }).toBe(1);
    expect(await texts(glen)).toEqual([]);
    await alice.ask('channel.send', { conversationId, text: 'Welcome Glen' });
    await expect.poll(() => texts(glen), { timeout: 30_000 }).toEqual(['Welcome Glen']);
    await expect.poll(() => texts(gina), { timeout: 30_000 }).toContain('Welcome Glen');

    // Alice re-adds Glen's device, as for one that lost sync: it rejoins through the Welcome and reads on
    const members = (await alice.ask('channel.view', { conversationId })).members;
    const g = members.find((m) => m.displayName === 'Glen Park')!;
    expect(await alice.ask('channel.readd', { conversationId, address: `${g.deviceId}@${g.orgDomain}` })).toEqual({ added: 1 });
    await alice.ask('channel.send', { conversationId, text: 'Glen re-added' });
    await expect.poll(() => texts(glen), { timeout: 30_000 }).toEqual(['Welcome Glen', 'Glen re-added']);
    await expect.poll(() => texts(gina), { timeout: 30_000 }).toContain('Glen re-added');

    // Globex's admin revokes Gina's browser: Alice's side removes it from the group.
    const devices = JSON.parse(await globex.admin(['devices', 'list', '--employee', 'gina', '--json'])) as { deviceId: string }[];
    await globex.admin(['devices', 'revoke', devices[0]!.deviceId]);
    expect(await alice.ask('channel.syncMembers', { conversationId })).toEqual({ added: 0, removed: 1 });
    await alice.ask('channel.send', { conversationId, text: 'After the revocation' });
    await expect.poll(() => texts(glen), { timeout: 30_000 }).toEqual(['Welcome Glen', 'Glen re-added', 'After the revocation']);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await texts(gina)).not.toContain('After the revocation');
    // Everyone still in the conversation sees who left.
    await expect
      .poll(async () => (await glen.ask('channel.view', { conversationId })).messages.some((m) => m.event?.kind === 'removed'), {
        timeout: 15_000,
      })
      .toBe(true);
  });

  it('raises no notification for a message in the conversation the receiver has on screen, and one again when the panel loses the focus or shows the list', async () => {
    const conversationId = await onlyConversation(alice);
    const worker = await glen.browser.worker();
    const notified = async () =>
      Object.keys(await worker.evaluate(() => chrome.notifications.getAll())).filter((id) => id.startsWith('kontor-'));
    /** Alice writes; Glen's panel shows it */
    const say = async (text: string) => {
      await alice.ask('channel.send', { conversationId, text });
      await expect.poll(() => shownTexts(glen.panel), { timeout: 30_000 }).toContain(text);
    };
    const clearAll = () =>
      worker.evaluate(async () => {
        for (const id of Object.keys(await chrome.notifications.getAll())) await chrome.notifications.clear(id);
      });
    // Glen's side panel (a tab here: visible, and focused as Playwright emulates it) opens the conversation.
    await glen.panel.reload();
    await glen.panel.getByTestId('conversation-item').click();
    await expect.poll(() => shownTexts(glen.panel), { timeout: 30_000 }).toContain('After the revocation');
    expect(await glen.panel.evaluate(() => document.visibilityState === 'visible' && document.hasFocus())).toBe(true);
    await clearAll();
    expect(await notified()).toEqual([]);

    await say('Read as it arrives');
    // notify.ts runs right after the event that put it on screen: a generous margin for a loaded machine
    await new Promise((r) => setTimeout(r, 2000));
    expect(await notified()).toEqual([]);

    // The panel loses the focus (the user went to another application): the next message notifies.
    await glen.panel.evaluate(() => window.dispatchEvent(new Event('blur')));
    await new Promise((r) => setTimeout(r, 500)); // the page's report reaches the background
    await say('While you were elsewhere');
    await expect.poll(notified, { timeout: 30_000 }).toEqual([`kontor-${conversationId}`]);
    await clearAll();
    // Back in the panel: quiet again.
    await glen.panel.evaluate(() => window.dispatchEvent(new Event('focus')));
    await new Promise((r) => setTimeout(r, 500));
    await say('Back in front of you');
    await new Promise((r) => setTimeout(r, 2000));
    expect(await notified()).toEqual([]);

    // Back to the list: the conversation is no longer on screen, so the next message notifies.
    await glen.panel.getByRole('button', { name: 'Back to conversations' }).click();
    await expect.poll(() => glen.panel.getByTestId('conversation-item').count()).toBe(1);
    await alice.ask('channel.send', { conversationId, text: 'Waiting in the list' });
    await expect.poll(notified, { timeout: 30_000 }).toEqual([`kontor-${conversationId}`]);
  });

  it('leaves no plaintext in either gateway database', async () => {
    for (const gw of [acme, globex]) {
      for (const f of readdirSync(gw.dataDir)) {
        const file = path.join(gw.dataDir, f);
        const bytes = readFileSync(file);
        expect(bytes.includes(Buffer.from('pressure sensors')), `${gw.domain}/${f}`).toBe(false);
        expect(bytes.includes(Buffer.from('12.40 EUR')), `${gw.domain}/${f}`).toBe(false);
      }
    }
  });
});
