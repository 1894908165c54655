/**
 * Partner detector (content script, isolated world, document_idle). Registered only for
 * partner domains and for the profile pages partners claim (scripting.registerContentScripts),
 * so no other page pays for it. It never changes the page's DOM, exposes nothing to the page
 * and posts nothing the page could observe; it holds no keys and no message text. It tells
 * the background which URL finished loading, so the toolbar shows the partner once the page
 * is ready. Page signals (JSON-LD, rel=me, website links) are read only when the employee
 * opens Kontor's popup (src/background/partners/detect.ts, inspectTab).
 */
import { sendFromContent } from '../shared/browser-lite';

if (location.protocol === 'http:' || location.protocol === 'https:') {
  void sendFromContent('page.detect', { url: location.href }).catch(() => undefined);
}
