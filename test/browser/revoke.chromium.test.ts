/**
 * Issue 15, revocation in the side panel: Alice's second browser (enrolled by the admin's code,
 * so certified by the org alone, and accepted by Gina; linking is built elsewhere) is revoked by Alice
 * from her browser's devices list, through the confirmation dialog. Gina's side panel shows it
 * removed, and what Gina sends afterwards does not reach it. Then Acme's admin resets Alice's
 * identity and she enrolls a new browser: Gina's side panel warns, shows the old and the new
 * identity fingerprint, and lets the new browser in only when Gina presses Accept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aliceAndGina, employee, shownTexts, type Employee } from '../support/channel';

let net: Awaited<ReturnType<typeof aliceAndGina>>;
let secondBrowser: Employee | undefined;
let fresh: Employee | undefined;

beforeAll(async () => {
  net = await aliceAndGina({ aliceInSales: true });
}, 240_000);

afterAll(async () => {
  await Promise.all([secondBrowser?.browser.close(), fresh?.browser.close()]);
  await net?.close();
});

describe('revoking a device from the devices list (issue 15: 2, 4a)', () => {
  it("Alice revokes her second device in her side panel; Gina's shows it removed and it reads nothing after", async () => {
    const { site, acme, alice, gina } = net;
    // a second browser of Alice: enrolled by the admin's code, certified by the org alone (she has an identity)
    secondBrowser = await employee({
      sitePort: site.port,
      gateway: acme,
      id: 'alice',
      name: 'Alice Schmidt',
      partners: ['globex.example'],
    });
    const { conversationId } = await gina.ask('channel.start', { domain: 'acme.example', contact: 'sales' });
    const [held] = (await gina.ask('channel.view', { conversationId })).held;
    expect(held).toMatchObject({ displayName: 'Alice Schmidt', reason: 'org_only' });
    const secondId = held!.deviceId;
    await gina.ask('channel.acceptDevice', { conversationId, address: `${secondId}@acme.example` });
    const members = async () => (await gina.ask('channel.view', { conversationId })).members.map((m) => m.deviceId);
    expect(await members()).toContain(secondId);
    const secondTexts = async () =>
      (await secondBrowser!.ask('channel.view', { conversationId }).catch(() => ({ messages: [] }))).messages.map((m) => m.text);
    await gina.ask('channel.send', { conversationId, text: 'while both of Alice’s browsers are in' });
    await expect.poll(secondTexts, { timeout: 30_000 }).toContain('while both of Alice’s browsers are in');

    // Alice's devices list: this browser first and marked, the second one with a Revoke button
    await alice.panel.reload();
    const devices = alice.panel.getByTestId('device');
    await expect.poll(() => devices.count(), { timeout: 30_000 }).toBe(2);
    expect(await devices.nth(0).getAttribute('data-self')).toBe('true');
    const other = alice.panel.locator(`[data-testid="device"][data-device-id="${secondId}"]`);
    expect(await other.textContent()).toContain("added by your company's gateway only");
    await other.getByTestId('revoke-device').click();
    const dialog = alice.panel.getByTestId('revoke-dialog');
    await expect.poll(() => dialog.getAttribute('open')).not.toBeNull();
    // keyboard: Escape cancels, nothing is revoked
    await alice.panel.keyboard.press('Escape');
    await expect.poll(() => dialog.getAttribute('open')).toBeNull();
    expect(await members()).toContain(secondId);
    await other.getByTestId('revoke-device').click();
    await alice.panel.getByTestId('revoke-confirm').click();
    await expect.poll(() => devices.count(), { timeout: 30_000 }).toBe(1);

    // Gina's side panel: removed, and why
    await expect.poll(members, { timeout: 30_000 }).not.toContain(secondId);
    await gina.panel.reload();
    await gina.panel.getByTestId('conversation-item').click();
    const revoked = gina.panel.getByTestId('event-revoked');
    await expect.poll(() => revoked.textContent(), { timeout: 30_000 }).toContain('revoked by its owner');
    expect(await revoked.textContent()).toContain('Alice Schmidt (acme.example)');

    await gina.ask('channel.send', { conversationId, text: 'after Alice revoked her second device' });
    await gina.panel.reload();
    await gina.panel.getByTestId('conversation-item').click();
    await expect.poll(() => shownTexts(gina.panel), { timeout: 30_000 }).toContain('after Alice revoked her second device');
    // Alice's first browser reads it; the revoked one, out of the group and refused by its gateway, does not
    await alice.panel.reload();
    await alice.panel.getByTestId('conversation-item').click();
    await expect.poll(() => shownTexts(alice.panel), { timeout: 30_000 }).toContain('after Alice revoked her second device');
    expect(await secondTexts()).not.toContain('after Alice revoked her second device');
  });

  it("identity reset: Gina's side panel warns, shows the old and new fingerprint, and the new browser reads only after Accept", async () => {
    const { site, acme, gina } = net;
    const { conversationId } = await gina.ask('channel.start', { domain: 'acme.example', contact: 'sales' });
    await acme.admin(['reset-identity', 'alice']);
    fresh = await employee({ sitePort: site.port, gateway: acme, id: 'alice', name: 'Alice Schmidt', partners: ['globex.example'] });

    expect(await gina.ask('channel.syncMembers', { conversationId })).toMatchObject({ added: 0 });
    await gina.panel.reload();
    await gina.panel.getByTestId('conversation-item').first().click();
    const warning = gina.panel.locator('[data-testid="event-held"][data-reason="identity_changed"]');
    await expect
      .poll(() => warning.textContent(), { timeout: 30_000 })
      .toContain("Alice Schmidt's identity was reset by acme.example's admin: verify before you continue");
    expect(await warning.getAttribute('role')).toBe('alert');
    const [oldFp, newFp] = await Promise.all([
      gina.panel.getByTestId('fingerprint-old').textContent(),
      gina.panel.getByTestId('fingerprint-new').textContent(),
    ]);
    expect(oldFp).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    expect(newFp).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    expect(newFp).not.toBe(oldFp);

    await gina.ask('channel.send', { conversationId, text: 'before Gina accepted the reset' });
    await gina.panel.getByTestId('accept-device').click();
    await expect.poll(() => gina.panel.getByTestId('held-device').count(), { timeout: 30_000 }).toBe(0);
    await gina.ask('channel.send', { conversationId, text: 'after Gina accepted the reset' });
    await fresh.panel.reload();
    await expect.poll(() => fresh!.panel.getByTestId('conversation-item').count(), { timeout: 30_000 }).toBe(1);
    await fresh.panel.getByTestId('conversation-item').click();
    await expect.poll(() => shownTexts(fresh!.panel), { timeout: 30_000 }).toContain('after Gina accepted the reset');
    expect(await shownTexts(fresh.panel)).not.toContain('before Gina accepted the reset');
  }, 180_000);
});
