/**
 * The conversation both channel benches measure: Alice (Acme) opens it with Globex's sales
 * contact from her side panel and sends a warm-up message, and Gina (Globex) opens it in hers.
 */
import type { Employee } from '../../../test/support/channel';
import { waitFor } from '../../../test/support/poll';

export async function openConversation(alice: Employee, gina: Employee): Promise<void> {
  await alice.ask('contact.request', { domain: 'globex.example' });
  await alice.panel.reload();
  await alice.panel.getByTestId('contact-sales').click();
  await alice.panel.getByTestId('composer').waitFor({ timeout: 30_000 });
  await alice.panel.getByTestId('composer').fill('warm-up');
  await alice.panel.getByTestId('composer').press('Enter');
  await waitFor(
    async () => (await gina.ask('channel.list', {})).conversations.length,
    (n) => n > 0,
    30_000,
    'conversation',
  );
  await gina.panel.reload();
  await gina.panel.getByTestId('conversation-item').click();
  await gina.panel.getByText('warm-up').waitFor({ timeout: 30_000 });
}
