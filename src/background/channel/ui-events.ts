/** Channel activity as push events to Kontor's own pages (src/shared/events.ts). */
import type { ChannelPush } from '../../shared/events';
import { push } from '../page-ports';
import type { ChannelEvent } from './index';
import { messageView } from './views';

export function broadcast(e: ChannelEvent | { type: 'status' }): void {
  // Only Kontor's own pages receive runtime messages from the background; web pages and
  // content scripts never do (tabs.sendMessage is not used for channel data).
  push({ kontor: 1, event: 'channel', ...channelPush(e) });
}

function channelPush(e: ChannelEvent | { type: 'status' }): ChannelPush {
  switch (e.type) {
    case 'message':
      return { type: 'message', conversationId: e.conversationId, message: messageView(e.message) };
    case 'delivery':
      return { type: 'delivery', conversationId: e.conversationId, messageId: e.messageId, state: e.state };
    case 'conversation':
    case 'warning':
      return { type: e.type, conversationId: e.conversationId };
    case 'status':
      return { type: 'status', conversationId: null };
  }
}
