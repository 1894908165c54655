import { useEffect } from 'preact/hooks';
import { reportViewing } from '../../shared/port';

/**
 * On screen means the page is visible and has the focus. Visibility alone is not enough: it
 * changes with tabs, minimising and (Windows, macOS) a covered window, but not when the user
 * switches to another application over a browser window still showing the panel, and a
 * message they would then miss is worse than one notification too many. The focus of the
 * panel's own document is the closest signal a page has for the browser window's focus:
 * Chromium's side panel and Firefox's sidebar are documents of their own, focused while the
 * user types or clicks in them and blurred when the window loses the focus. The price: a user
 * who reads the panel while working in the page beside it still gets a notification (one per
 * conversation at most, notify.ts). `focus`/`blur` decide by their type rather than trust
 * hasFocus() to have changed by the time the event runs. Seen in headless Chromium 156 with
 * the real side panel: it loads `hidden`, turns `visible` at once (visibilitychange), has the
 * focus when opened, and gets `blur` when another tab comes to the front.
 */
export function onScreen(e?: Pick<Event, 'type'>, doc: Pick<Document, 'visibilityState' | 'hasFocus'> = document): boolean {
  const focused = e?.type === 'focus' || (e?.type !== 'blur' && doc.hasFocus());
  return focused && doc.visibilityState === 'visible';
}

/** Tells the background which conversation this page shows and when it is on screen (port.ts). */
export function useReportViewing(conversationId: string): void {
  useEffect(() => {
    const report = (e?: Event) => reportViewing({ conversationId, visible: onScreen(e) });
    report();
    document.addEventListener('visibilitychange', report);
    window.addEventListener('focus', report);
    window.addEventListener('blur', report);
    return () => {
      document.removeEventListener('visibilitychange', report);
      window.removeEventListener('focus', report);
      window.removeEventListener('blur', report);
      reportViewing({ conversationId: null, visible: onScreen() });
    };
  }, [conversationId]);
}
