/**
 * Issue 15, linking in Chromium: Alice's first browser is enrolled and in a conversation with
 * Globex; a second Chromium profile links by code through the side panel as she would (type
 * the code, compare and confirm the number). It then reads Gina's new messages and the history
 * its first browser transferred, sees Gina as a member, and Alice's first browser shows the
 * notice that the new device was linked from it. B knows Globex only from the grant: Alice added
 * it by hand on her first browser, and B accepts the conversation's Welcome because of it. Then Alice revokes it from her first browser's
 * devices list (issue 15: revocation): Gina's side panel shows it removed, what Gina sends
 * afterwards does not reach it, and its own side panel says it was removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { GatewayHandle } from '../gateway/helpers';
import { aliceAndGina, type Employee } from '../support/channel';
import { launchChromium, type ChromiumSession } from '../support/chromium';
import { askChromium } from '../support/messages';
import { waitFor } from '../support/poll';
import type { SiteServer } from '../support/site-server';

let site: SiteServer;
let acme: GatewayHandle;
let alice: Employee;
let gina: Employee;
let second: ChromiumSession | undefined;
let panelB: Page;
let askB: Employee['ask'];
let conversationId: string;

let net: Awaited<ReturnType<typeof aliceAndGina>> | undefined;

beforeAll(async () => {
  net = await aliceAndGina();
  ({ site, acme, alice, gina } = net);
}, 240_000);

afterAll(async () => {
  await second?.close();
  await net?.close();
});

const texts = async (ask: Employee['ask'], conversationId: string) =>
  (await ask('channel.view', { conversationId })).messages.map((m) => m.text).filter((t) => t !== null);

describe('linking a second browser (issue 15: linking)', () => {
  it('links by code and SAS in the side panel, reads new messages and the transferred history; both sides show it as linked', async () => {
    ({ conversationId } = await alice.ask('channel.start', { domain: 'globex.example', contact: 'sales' }));
    await alice.ask('channel.send', { conversationId, text: 'before linking: the offer stands' });
    await waitFor(
      () => gina.ask('channel.list', {}),
      (r) => r.conversations.length === 1,
      60_000,
      'Gina has the conversation',
    );
    await waitFor(
      () => texts(gina.ask, conversationId),
      (t) => t.includes('before linking: the offer stands'),
      60_000,
      'Gina reads it',
    );

    // the second browser: "Link to a device you already use"
    second = await launchChromium({ sitePort: site.port, headless: true });
    panelB = await second.openExtensionPage('sidepanel');
    askB = (kind, params) => askChromium(panelB, kind, params);
    // B does not know Globex: it learns the partner Alice added by hand on A from the link grant
    expect((await askB('partners.list', {})).partners).toEqual([]);
    await panelB.getByTestId('link-gateway').fill(acme.url);
    await panelB.getByTestId('link-start').click();
    const code = (await waitFor(
      () => panelB.getByTestId('link-code').textContent(),
      (t) => /^[A-Z0-9]{5}-[A-Z0-9]{5}$/.test(t ?? ''),
      30_000,
      'code shown',
    ))!;
    expect(await panelB.getByTestId('link-qr').count()).toBe(1);

    // the first browser takes the code and shows the number to compare
    await alice.panel.getByTestId('link-action').click();
    await alice.panel.getByTestId('link-code-input').fill(code.toLowerCase());
    await alice.panel.getByTestId('link-join').click();
    const sasA = await waitFor(
      () => alice.panel.getByTestId('link-sas').textContent(),
      (t) => /^\d{3} \d{3}$/.test(t ?? ''),
      60_000,
      'SAS on A',
    );
    const sasB = await waitFor(
      () => panelB.getByTestId('link-sas-new').textContent(),
      (t) => /\d{3} \d{3}/.test(t ?? ''),
      30_000,
      'SAS on B',
    );
    expect(sasB).toContain(sasA!);
    expect(await alice.panel.getByTestId('link-history').isChecked()).toBe(true);
    await alice.panel.getByTestId('link-confirm').click();

    await waitFor(
      () => askB('channel.identity', {}),
      (i) => i.enrolled && i.connected,
      60_000,
      'B enrolled and connected',
    );
    expect((await askB('channel.identity', {})).displayName).toBe('Alice Schmidt');
    const pinnedA = (await alice.ask('partners.list', {})).partners.find((p) => p.domain === 'globex.example');
    expect(pinnedA?.source).toBe('user');
    const learned = (await askB('partners.list', {})).partners.find((p) => p.domain === 'globex.example');
    expect(learned).toMatchObject({ source: 'user', state: 'pinned-tofu', fingerprint: pinnedA!.fingerprint, keyWarning: null });
    expect((await askB('channel.linkStatus', {})).pinConflicts).toEqual([]);
    await waitFor(
      () => alice.panel.getByTestId('link-done').textContent(),
      (t) => (t ?? '').length > 0,
      90_000,
      'A done',
    );
    await waitFor(
      () => askB('channel.list', {}),
      (r) => r.conversations.some((c) => c.id === conversationId),
      60_000,
      'B joined',
    );

    // new messages from the partner reach the new browser
    await waitFor(
      async () => (await gina.ask('channel.view', { conversationId })).members.length,
      (n) => n === 3,
      60_000,
      'Gina sees three members',
    );
    await gina.ask('channel.send', { conversationId, text: 'after linking: confirmed for Monday' });
    await waitFor(
      () => texts(askB, conversationId),
      (t) => t.includes('after linking: confirmed for Monday'),
      60_000,
      'B reads Gina',
    );
    const viewB = await askB('channel.view', { conversationId });
    const old = viewB.messages.find((m) => m.text === 'before linking: the offer stands');
    expect(old?.transferred).toBe(true);
    expect(viewB.members.map((m) => m.displayName).sort()).toEqual(['Alice Schmidt', 'Alice Schmidt', 'Gina Rossi']);

    // in the side panels: B marks the transferred message, A shows how the new device came in
    await panelB.reload();
    await panelB.getByTestId('conversation-item').first().click();
    await waitFor(
      () => panelB.getByTestId('transferred').count(),
      (n) => n >= 1,
      30_000,
      'transferred shown',
    );
    await alice.panel.reload();
    await alice.panel.getByTestId('conversation-item').first().click();
    const notice = await waitFor(
      () => alice.panel.getByTestId('event-linked').first().textContent(),
      (t) => (t ?? '').length > 0,
      30_000,
      'linked notice',
    );
    expect(notice).toContain('New device of Alice Schmidt');
    // named by the linking browser's label, its id beside it for support
    expect(notice).toContain('linked from their device Chromium on Linux (');
    expect(await gina.ask('channel.view', { conversationId }).then((v) => v.messages.some((m) => m.event?.kind === 'added_unlinked'))).toBe(
      false,
    );
  });

  it("Alice revokes the linked browser from her first one; Gina's side panel shows it removed, and it reads nothing after", async () => {
    const bId = (await askB('channel.view', { conversationId })).members.find((m) => m.self)!.deviceId;
    // the first browser's devices list names the linked one as linked from this device
    await alice.panel.reload();
    const devices = alice.panel.getByTestId('device');
    await expect.poll(() => devices.count(), { timeout: 30_000 }).toBe(2);
    const linked = alice.panel.locator(`[data-testid="device"][data-device-id="${bId}"]`);
    expect(await linked.textContent()).toContain('linked from this device');
    expect(await linked.getByTestId('device-label').textContent()).toBe('Chromium on Linux');
    expect(await linked.getByTestId('device-id').textContent()).toBe(bId);
    expect(await devices.nth(0).getByTestId('device-label').textContent()).toBe('Chromium on Linux');
    await linked.getByTestId('revoke-device').click();
    await alice.panel.getByTestId('revoke-confirm').click();
    await expect.poll(() => devices.count(), { timeout: 30_000 }).toBe(1);

    // Gina's side panel: removed, revoked by its owner
    await expect
      .poll(async () => (await gina.ask('channel.view', { conversationId })).members.map((m) => m.deviceId), { timeout: 60_000 })
      .not.toContain(bId);
    await gina.panel.reload();
    await gina.panel.getByTestId('conversation-item').click();
    const revoked = gina.panel.getByTestId('event-revoked');
    await expect.poll(() => revoked.textContent(), { timeout: 30_000 }).toContain('revoked by its owner');

    // the revoked browser says so, with the gateway's refusal, and does not read what Gina sends now
    await expect.poll(async () => (await askB('channel.identity', {})).removed, { timeout: 60_000 }).toBe('device revoked');
    await panelB.reload();
    const removed = panelB.getByTestId('device-removed');
    await expect.poll(() => removed.textContent(), { timeout: 30_000 }).toContain('This browser was removed from your devices');
    expect(await removed.textContent()).toContain('device revoked');
    await gina.ask('channel.send', { conversationId, text: 'after the revocation: new terms' });
    await expect.poll(() => texts(alice.ask, conversationId), { timeout: 60_000 }).toContain('after the revocation: new terms');
    expect(await texts(askB, conversationId)).not.toContain('after the revocation: new terms');
  });
});
