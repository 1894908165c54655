/**
 * Which conversation each open Kontor page has on screen, as the page reports it over its port
 * (page-ports.ts; the side panel sends it, ui/sidepanel/useViewing.ts). notify.ts raises no OS
 * notification for a message in a conversation the user is looking at. Only Kontor's own pages
 * hold a port, so no web page can silence a notification; the state lives and dies with the
 * port, so a page that closed or crashed silences nothing.
 */
import * as v from 'valibot';
import type { ViewingReport } from '../shared/port';
import { ConversationId } from '../shared/protocol';

/** the one frame a page sends besides requests; anything else (extra keys included) is not it */
const ViewingFrame = v.strictObject({
  viewing: v.strictObject({ conversationId: v.nullable(ConversationId), visible: v.boolean() }),
});

/** page (its port) → the conversation it shows on screen; pages showing none are absent */
const onScreen = new Map<object, string>();

/** The report in a frame from a page, or null for anything that is not one. */
export function viewingReport(frame: unknown): ViewingReport | null {
  return v.is(ViewingFrame, frame) ? frame.viewing : null;
}

export function setViewing(page: object, report: ViewingReport): void {
  if (report.visible && report.conversationId !== null) onScreen.set(page, report.conversationId);
  else onScreen.delete(page);
}

/** The page's port closed: it shows nothing any more. */
export function forgetPage(page: object): void {
  onScreen.delete(page);
}

/** Whether some open Kontor page shows this conversation on screen; synchronous, O(open pages). */
export function isOnScreen(conversationId: string): boolean {
  for (const shown of onScreen.values()) if (shown === conversationId) return true;
  return false;
}
