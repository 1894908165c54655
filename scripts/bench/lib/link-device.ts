/**
 * link_device_ms for `npm run bench -- channel`: from the click that confirms the SAS on
 * Alice's first browser until a new message from Gina is readable on the newly linked second
 * browser. It covers the certificate, the grant, the new browser's enrollment and key
 * packages, Alice's commit adding it, Gina's client following that commit, and one message.
 */
import type { GatewayHandle } from '../../../test/gateway/helpers';
import type { Employee } from '../../../test/support/channel';
import { launchChromium } from '../../../test/support/chromium';
import { askChromium } from '../../../test/support/messages';
import { waitFor } from '../../../test/support/poll';

export async function linkDeviceMs(o: { sitePort: number; acme: GatewayHandle; alice: Employee; gina: Employee }): Promise<number> {
  const conversationId = (await o.gina.ask('channel.list', {})).conversations[0]!.id;
  const second = await launchChromium({ sitePort: o.sitePort, headless: true });
  try {
    const panel = await second.openExtensionPage('sidepanel');
    // the new browser checks Gina's credential against Globex's key, so it knows Globex (as from policy)
    await askChromium(panel, 'partners.add', { domain: 'globex.example' });
    await panel.getByTestId('link-gateway').fill(o.acme.url);
    await panel.getByTestId('link-start').click();
    const code = await waitFor(
      () => panel.getByTestId('link-code').textContent(),
      (t) => /-/.test(t ?? ''),
      30_000,
      'link code',
    );
    await o.alice.panel.reload();
    await o.alice.panel.getByTestId('link-action').click();
    await o.alice.panel.getByTestId('link-code-input').fill(code!);
    await o.alice.panel.getByTestId('link-join').click();
    await o.alice.panel.getByTestId('link-sas').waitFor({ timeout: 60_000 });
    const t0 = performance.now();
    await o.alice.panel.getByTestId('link-confirm').click();
    // Gina writes once her view has the new device and it has joined (a message the hub orders
    // before the new device's Welcome is not readable there); the clock stops when it reads it
    await waitFor(
      async () => (await o.gina.ask('channel.view', { conversationId })).members.length,
      (n) => n >= 3,
      120_000,
      'new device added',
    );
    await waitFor(
      async () =>
        (await askChromium(panel, 'channel.list', {}).catch(() => null))?.conversations.some((c) => c.id === conversationId) ?? false,
      (ok) => ok,
      120_000,
      'linked browser joined',
    );
    const text = 'first message to the linked browser';
    await o.gina.ask('channel.send', { conversationId, text });
    await waitFor(
      async () =>
        (await askChromium(panel, 'channel.view', { conversationId }).catch(() => null))?.messages.some((m) => m.text === text) ?? false,
      (ok) => ok,
      120_000,
      'linked browser reads it',
    );
    return performance.now() - t0;
  } finally {
    await second.close();
  }
}
