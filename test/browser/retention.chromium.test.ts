/**
 * The policy's retentionDays (default 365) in the built extension: history older than that is
 * deleted from the channel's IndexedDB when the background starts (and hourly, and on a policy
 * change; the deletion itself: test/unit/channel/retention.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type ChromiumSession } from './harness/chromium';
import { startSiteServer, type SiteServer } from './harness/site-server';

let site: SiteServer;
let browser: ChromiumSession;

beforeAll(async () => {
  site = await startSiteServer();
  browser = await launchChromium({ sitePort: site.port });
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});

/** Message ids stored in the channel database, read in the background's own context. */
async function storedIds(): Promise<string[]> {
  const sw = await browser.worker();
  return sw.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open('kontor-channel');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const keys = await new Promise<IDBValidKey[]>((resolve, reject) => {
      const r = db.transaction('messages').objectStore('messages').getAllKeys();
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    db.close();
    return keys.map((k) => String((k as string[])[1])).sort();
  });
}

describe('retentionDays (Chromium)', () => {
  it('deletes history older than 365 days from IndexedDB when the background starts, and keeps newer history', async () => {
    const sw = await browser.worker();
    // The background creates the database at start; wait for it before writing into it.
    await expect
      .poll(() => sw.evaluate(async () => (await indexedDB.databases()).some((d) => d.name === 'kontor-channel')), { timeout: 30_000 })
      .toBe(true);
    await sw.evaluate(async (now) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open('kontor-channel');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const tx = db.transaction('messages', 'readwrite');
      const body = { iv: new Uint8Array(12), ct: new Uint8Array(4) };
      const day = 86_400_000;
      tx.objectStore('messages').put({
        conversationId: 'c1',
        id: 'm-400-days',
        at: now - 400 * day,
        direction: 'in',
        body,
        state: null,
        seq: null,
      });
      tx.objectStore('messages').put({ conversationId: 'c1', id: 'm-1-day', at: now - day, direction: 'in', body, state: null, seq: null });
      await new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
      db.close();
    }, Date.now());
    expect(await storedIds()).toEqual(['m-1-day', 'm-400-days']);

    // Stop the service worker the way the browser does when it idles it out, then wake it.
    const popup = await browser.openExtensionPage('popup');
    const cdp = await browser.ctx.newCDPSession(popup);
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
    const worker = targetInfos.find((t) => t.type === 'service_worker' && t.url.endsWith('/background.js'));
    expect(worker).toBeTruthy();
    await cdp.send('Target.closeTarget', { targetId: worker!.targetId });
    await cdp.detach();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await popup.evaluate(() => chrome.runtime.sendMessage({ kontor: 1, kind: 'app.status', params: {} }))).toMatchObject({
      ok: true,
    });

    await expect.poll(storedIds, { timeout: 30_000 }).toEqual(['m-1-day']);
  });
});
