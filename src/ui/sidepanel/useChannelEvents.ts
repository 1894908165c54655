import { useEffect, useState } from 'preact/hooks';
import type { ChannelPush } from '../../shared/events';
import { onPush } from '../../shared/port';

export type ChannelUpdate = ChannelPush;

/** Calls `listener` for every channel event the background reports. */
export function useChannelListener(listener: (u: ChannelUpdate) => void): void {
  useEffect(() => onPush((e) => e.event === 'channel' && listener(e)), [listener]);
}

/** A counter that changes whenever the background reports channel activity. */
export function useChannelEvents(): number {
  const [tick, setTick] = useState(0);
  useEffect(
    // New messages and delivery updates are applied in place by the open conversation.
    () => onPush((e) => e.event === 'channel' && e.type !== 'message' && e.type !== 'delivery' && setTick((n) => n + 1)),
    [],
  );
  return tick;
}
