/**
 * Operating-system notifications for incoming messages: they name the sender, never the text,
 * and none comes for a conversation the user is looking at.
 */
import { browser } from '../../shared/browser';
import { listPartners } from '../partners/directory';
import { isOnScreen } from '../viewing';
import type { ChannelEvent } from './index';

/** notification id (one per conversation) → address of the sender it names */
const shown = new Map<string, string>();

export async function notify(e: ChannelEvent): Promise<void> {
  if (e.type !== 'message' || e.message.direction !== 'in' || !e.message.payload) return;
  // The user has this conversation in front of them (a Kontor page says so, viewing.ts): the
  // message is already on screen, and the work below would only compete with rendering it.
  if (isOnScreen(e.conversationId)) return;
  const id = `kontor-${e.conversationId}`;
  const sender = e.message.sender;
  // A burst from the same person: the notification still on screen already says exactly this.
  // Creating it again would only clear and raise it anew, and load its icon again, per message.
  if (shown.get(id) === sender.address && id in (await browser.notifications.getAll())) return;
  const partner = (await listPartners()).find((p) => p.domain === sender.orgDomain);
  const org = partner?.name ?? sender.orgDomain;
  await browser.notifications
    .create(id, {
      type: 'basic',
      iconUrl: browser.runtime.getURL('icons/icon-128.png'),
      title: browser.i18n.getMessage(partner && partner.state !== 'unverified' ? 'notifyTitleVerified' : 'notifyTitle', org),
      // The message text stays in Kontor: the OS notification names only the sender.
      message: browser.i18n.getMessage('notifyBody', sender.displayName),
    })
    .then(() => shown.set(id, sender.address))
    .catch(() => undefined);
}
