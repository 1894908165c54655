/** Fixed extension ids: Chromium's is derived from the manifest `key` (public key only). */
export const CHROMIUM_EXTENSION_ID = 'fnkacpkfgnhkoknbchddejfkfbjadpgl';
export const GECKO_ID = 'kontor@kontor.eu';
/** The name of the port each Kontor page holds to the background (port.ts). */
export const PAGE_PORT = 'kontor-page';
