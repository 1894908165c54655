import { useEffect, useState } from 'preact/hooks';
import { browser } from '../../shared/browser';
import type { ChannelMessageView } from '../../shared/protocol';

export interface ChannelUpdate {
  type: string;
  conversationId: string | null;
  message?: ChannelMessageView;
  messageId?: string;
  state?: ChannelMessageView['state'];
}

/** Calls `listener` for every channel event the background reports. */
export function useChannelListener(listener: (u: ChannelUpdate) => void): void {
  useEffect(() => {
    const l = (message: unknown) => {
      const m = message as (ChannelUpdate & { kontor?: unknown; event?: unknown }) | null;
      if (m?.kontor === 1 && m.event === 'channel') listener(m);
    };
    browser.runtime.onMessage.addListener(l);
    return () => browser.runtime.onMessage.removeListener(l);
  }, [listener]);
}

/** A counter that changes whenever the background reports channel activity. */
export function useChannelEvents(): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const listener = (message: unknown) => {
      const m = message as { kontor?: unknown; event?: unknown; type?: unknown } | null;
      // New messages and delivery updates are applied in place by the open conversation.
      if (m?.kontor === 1 && m.event === 'channel' && m.type !== 'message' && m.type !== 'delivery') setTick((n) => n + 1);
    };
    browser.runtime.onMessage.addListener(listener);
    return () => browser.runtime.onMessage.removeListener(listener);
  }, []);
  return tick;
}
