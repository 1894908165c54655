/**
 * Installs an enterprise policy for one browser run and removes it afterwards, the way an
 * admin's deployment would: Chromium reads /etc/chromium/policies/managed/*.json, Firefox
 * /etc/firefox/policies/policies.json. Needs root (the test machines run as root).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CHROMIUM_EXTENSION_ID, GECKO_ID } from '../../src/shared/ids';

export const CHROMIUM_POLICY_DIR = '/etc/chromium/policies/managed';
export const FIREFOX_POLICY_FILE = '/etc/firefox/policies/policies.json';

export interface InstalledPolicy {
  file: string;
  /** Replace the policy while the browser runs (for live-change tests). */
  update(policy: unknown): void;
  remove(): void;
}

export function installChromiumPolicy(policy: unknown, name = 'kontor-test'): InstalledPolicy {
  mkdirSync(CHROMIUM_POLICY_DIR, { recursive: true });
  const file = path.join(CHROMIUM_POLICY_DIR, `${name}.json`);
  const write = (p: unknown) =>
    writeFileSync(file, JSON.stringify({ '3rdparty': { extensions: { [CHROMIUM_EXTENSION_ID]: p } } }, null, 2));
  write(policy);
  return { file, update: write, remove: () => rmSync(file, { force: true }) };
}

export function installFirefoxPolicy(policy: unknown): InstalledPolicy {
  mkdirSync(path.dirname(FIREFOX_POLICY_FILE), { recursive: true });
  const previous = existsSync(FIREFOX_POLICY_FILE) ? readFileSync(FIREFOX_POLICY_FILE) : null;
  const write = (p: unknown) =>
    writeFileSync(FIREFOX_POLICY_FILE, JSON.stringify({ policies: { '3rdparty': { Extensions: { [GECKO_ID]: p } } } }, null, 2));
  write(policy);
  return {
    file: FIREFOX_POLICY_FILE,
    update: write,
    remove: () => (previous ? writeFileSync(FIREFOX_POLICY_FILE, previous) : rmSync(FIREFOX_POLICY_FILE, { force: true })),
  };
}
