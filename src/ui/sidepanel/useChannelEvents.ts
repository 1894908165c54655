import { useEffect, useState } from 'preact/hooks';
import { browser } from '../../shared/browser';

/** A counter that changes whenever the background reports channel activity. */
export function useChannelEvents(): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const listener = (message: unknown) => {
      const m = message as { kontor?: unknown; event?: unknown } | null;
      if (m?.kontor === 1 && m.event === 'channel') setTick((n) => n + 1);
    };
    browser.runtime.onMessage.addListener(listener);
    return () => browser.runtime.onMessage.removeListener(listener);
  }, []);
  return tick;
}
