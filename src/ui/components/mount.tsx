import { render, type ComponentChild } from 'preact';
import { t, uiLang, type MessageKey } from '../i18n';

/** Mounts a page root after setting the document language and title for screen readers. */
export function mount(root: ComponentChild, titleKey: MessageKey): void {
  document.documentElement.lang = uiLang();
  document.title = t(titleKey);
  const host = document.getElementById('app');
  if (!host) throw new Error('#app missing');
  render(root, host);
}
