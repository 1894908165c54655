/**
 * The private channel as a feature: its handlers (handlers.ts); the gateway connection, which
 * comes up in the background at start (nothing waits for it) and again every minute; and the
 * policy's history retention, applied at start, hourly and when the policy changes.
 */
import { browser } from '../../shared/browser';
import { effectiveRetentionDays } from '../../shared/policy/effective';
import { feature } from '../feature';
import { getPolicy, onPolicyChange } from '../policy';
import { getUserSettings } from '../settings';
import { connect } from './connection';
import { channelDb } from './engine-host';
import { channelHandlers } from './handlers';
import { linkHandlers } from './linking';
import { pruneMessages } from './retention';

const CHANNEL_ALARM = 'kontor-channel';
const RETENTION_ALARM = 'kontor-retention';

async function applyRetention(): Promise<void> {
  const days = effectiveRetentionDays(getPolicy().policy, await getUserSettings());
  await pruneMessages(await channelDb(), days).catch((e: unknown) => console.warn('[kontor] retention', e));
}

export const channelFeature = feature({
  handlers: { ...channelHandlers, ...linkHandlers },
  init: async () => {
    void connect();
    void applyRetention();
  },
  register(ready) {
    browser.alarms.onAlarm.addListener((alarm) => {
      // A stopped service worker wakes here and reconnects to collect waiting messages.
      if (alarm.name === CHANNEL_ALARM) void ready.then(() => connect());
      if (alarm.name === RETENTION_ALARM) void ready.then(() => applyRetention());
    });
    onPolicyChange(() => void applyRetention());
    browser.runtime.onInstalled.addListener(() => {
      void browser.alarms.create(CHANNEL_ALARM, { periodInMinutes: 1 });
      void browser.alarms.create(RETENTION_ALARM, { periodInMinutes: 60 });
    });
  },
});
