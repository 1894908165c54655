/** The background's own health, and the welcome page on first install. */
import { browser, browserName, uiLanguage } from '../shared/browser';
import { effectiveSettings } from '../shared/policy/effective';
import { feature } from './feature';
import { getPolicy, policySettled } from './policy';

const startedAt = Date.now();

export const appFeature = feature({
  handlers: {
    'app.status': () => ({
      version: browser.runtime.getManifest().version,
      browser: browserName,
      language: uiLanguage(),
      startedAt,
    }),
  },
  register(ready) {
    browser.runtime.onInstalled.addListener(({ reason }) => {
      if (reason !== 'install') return;
      void ready.then(async () => {
        await policySettled();
        // A first install shows the welcome page once, unless the policy switches it off.
        if (effectiveSettings(getPolicy().policy).showOnboarding) {
          await browser.tabs.create({ url: browser.runtime.getURL('options.html#welcome') });
        }
      });
    });
  },
});
