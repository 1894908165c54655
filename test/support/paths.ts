import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const distChromium = path.join(root, 'dist/chromium');
export const distFirefox = path.join(root, 'dist/firefox');
export const CHROMIUM_BIN = process.env.KONTOR_CHROMIUM ?? '/usr/lib/chromium/chromium';
export const FIREFOX_BIN = process.env.KONTOR_FIREFOX ?? '/usr/bin/firefox-esr';
