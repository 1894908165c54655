/**
 * Partner detector (content script, isolated world, document_idle). It reads nothing from
 * the page yet and never changes the page's DOM or posts anything the page could observe;
 * it only tells the background which URL finished loading. Detection grows here with the
 * partner-detection work.
 */
import { sendFromContent } from '../shared/browser-lite';

if (location.protocol === 'http:' || location.protocol === 'https:') {
  void sendFromContent('page.detect', { url: location.href }).catch(() => undefined);
}
