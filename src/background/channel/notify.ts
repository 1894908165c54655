/** Operating-system notifications for incoming messages: they name the sender, never the text. */
import { browser } from '../../shared/browser';
import { listPartners } from '../partners/directory';
import type { ChannelEvent } from './index';

export async function notify(e: ChannelEvent): Promise<void> {
  if (e.type !== 'message' || e.message.direction !== 'in' || !e.message.payload) return;
  const partner = (await listPartners()).find((p) => p.domain === e.message.sender.orgDomain);
  const org = partner?.name ?? e.message.sender.orgDomain;
  await browser.notifications
    .create(`kontor-${e.conversationId}`, {
      type: 'basic',
      iconUrl: browser.runtime.getURL('icons/icon-128.png'),
      title: browser.i18n.getMessage(partner && partner.state !== 'unverified' ? 'notifyTitleVerified' : 'notifyTitle', org),
      // The message text stays in Kontor: the OS notification names only the sender.
      message: browser.i18n.getMessage('notifyBody', e.message.sender.displayName),
    })
    .catch(() => undefined);
}
