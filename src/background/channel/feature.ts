/**
 * The private channel as a feature: its handlers (handlers.ts), and the gateway connection,
 * which comes up in the background at start (nothing waits for it) and again every minute.
 */
import { browser } from '../../shared/browser';
import { feature } from '../feature';
import { channelHandlers } from './handlers';
import { connect } from './connection';

const CHANNEL_ALARM = 'kontor-channel';

export const channelFeature = feature({
  handlers: channelHandlers,
  init: async () => {
    void connect();
  },
  register(ready) {
    browser.alarms.onAlarm.addListener((alarm) => {
      // A stopped service worker wakes here and reconnects to collect waiting messages.
      if (alarm.name === CHANNEL_ALARM) void ready.then(() => connect());
    });
    browser.runtime.onInstalled.addListener(() => void browser.alarms.create(CHANNEL_ALARM, { periodInMinutes: 1 }));
  },
});
