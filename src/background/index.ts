/**
 * Background entry (Chromium service worker / Firefox event page): lists the features. Their
 * listeners are registered synchronously at top level so a woken worker sees the event that
 * woke it; handlers wait on one readiness promise instead of polling.
 */
import { browser, extensionOrigin, type Runtime } from '../shared/browser';
import { appFeature } from './app';
import { blockingFeature } from './blocking/feature';
import { channelFeature } from './channel/feature';
import { createDispatcher, type Handlers } from './dispatcher';
import { announceStart, listenForPages } from './page-ports';
import { contactFeature } from './partners/contact';
import { partnersFeature } from './partners/feature';
import { policyFeature } from './policy-feature';
import { restrictSessionAccess, storage } from './storage';

// In this order features start and register: the policy first (everything reads it), the
// gateway connection last.
const features = [appFeature, policyFeature, blockingFeature, partnersFeature, contactFeature, channelFeature] as const;

async function init(): Promise<void> {
  await restrictSessionAccess();
  await storage.ready();
  for (const f of features) await f.init?.();
}
const ready = init();

const handlers: Handlers = {
  ...appFeature.handlers,
  ...policyFeature.handlers,
  ...blockingFeature.handlers,
  ...partnersFeature.handlers,
  ...contactFeature.handlers,
  ...channelFeature.handlers,
};

const dispatch = createDispatcher(handlers, {
  extensionId: browser.runtime.id,
  extensionOrigin: extensionOrigin(),
  ready,
  onError: (kind, error) => console.error(`[kontor] ${kind} failed`, error),
});

browser.runtime.onMessage.addListener((message: unknown, sender: Runtime.MessageSender) => dispatch(message, sender));
// Kontor's pages send their requests, and receive events, on a port each (page-ports.ts)
listenForPages(dispatch, extensionOrigin());
announceStart();
for (const f of features) f.register?.(ready);
