/**
 * UI strings come from `_locales` through `browser.i18n`, so the browser's language picks
 * English or German. Keys are checked against the English catalogue at compile time.
 */
import { browser } from '../shared/browser';
import type core from '../../assets/_locales/en/messages.json';
import type blocking from '../../assets/_locales/en/blocking.json';
import type channel from '../../assets/_locales/en/channel.json';

/** Keys of every feature's English catalogue (the build merges them per language). */
export type MessageKey = keyof typeof core | keyof typeof blocking | keyof typeof channel;

export function t(key: MessageKey, ...substitutions: string[]): string {
  return browser.i18n.getMessage(key, substitutions) || key;
}

/** BCP 47 tag of the language the UI renders in, for `<html lang>`. */
export function uiLang(): string {
  const lang = browser.i18n.getMessage('@@ui_locale').replace('_', '-');
  return lang || 'en';
}
