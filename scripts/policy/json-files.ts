/**
 * The JSON deployment formats: Linux managed policy (Chrome, Chromium, Edge), Firefox
 * policies.json, and the Google Admin console's "Policy for extensions" upload. Each writer has
 * a reader so tests can prove the round trip.
 */
import type { Policy } from '../../src/shared/policy/schema';

type Json = Record<string, unknown>;

const isRecord = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

function dig(root: unknown, ...keys: string[]): unknown {
  let node = root;
  for (const key of keys) {
    if (!isRecord(node) || !Object.hasOwn(node, key)) throw new PolicyFileError(`missing "${keys.join('.')}"`);
    node = node[key];
  }
  return node;
}

export class PolicyFileError extends Error {
  override name = 'PolicyFileError';
}

const pretty = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** `{"3rdparty":{"extensions":{"<id>":{...policy}}}}` for /etc/.../policies/managed/. */
export function writeLinuxManaged(policy: Policy, extensionId: string): string {
  return pretty({ '3rdparty': { extensions: { [extensionId]: policy } } });
}

export function readLinuxManaged(text: string, extensionId: string): unknown {
  return dig(JSON.parse(text), '3rdparty', 'extensions', extensionId);
}

/** Firefox: `{"policies":{"3rdparty":{"Extensions":{"<gecko id>":{...}}}}}` (capital E). */
export function writeFirefoxPolicies(policy: Policy, geckoId: string, extraPolicies: Json = {}): string {
  return pretty({ policies: { ...extraPolicies, '3rdparty': { Extensions: { [geckoId]: policy } } } });
}

export function readFirefoxPolicies(text: string, geckoId: string): unknown {
  return dig(JSON.parse(text), 'policies', '3rdparty', 'Extensions', geckoId);
}

/** Google Admin console wants each top-level policy wrapped as `{"Value": ...}`. */
export function writeGoogleAdmin(policy: Policy): string {
  return pretty(Object.fromEntries(Object.entries(policy).map(([k, v]) => [k, { Value: v }])));
}

export function readGoogleAdmin(text: string): unknown {
  const doc: unknown = JSON.parse(text);
  if (!isRecord(doc)) throw new PolicyFileError('not a JSON object');
  return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, dig(v, 'Value')]));
}

/** Chrome/Edge ExtensionSettings entry that force-installs Kontor and pins its icon. */
export function chromiumInstallSettings(extensionId: string, updateUrl: string): Json {
  return {
    [extensionId]: { installation_mode: 'force_installed', update_url: updateUrl, toolbar_pin: 'force_pinned' },
  };
}

/** Firefox ExtensionSettings entry that force-installs Kontor. */
export function firefoxInstallSettings(geckoId: string, installUrl: string): Json {
  return { [geckoId]: { installation_mode: 'force_installed', install_url: installUrl } };
}

export function writeLinuxInstall(extensionId: string, updateUrl: string): string {
  return pretty({ ExtensionSettings: chromiumInstallSettings(extensionId, updateUrl) });
}

/** Reads back the update URL an install file force-installs `extensionId` from. */
export function readInstallUpdateUrl(settings: unknown, extensionId: string): string {
  const entry = dig(settings, extensionId);
  if (!isRecord(entry) || entry.installation_mode !== 'force_installed') throw new PolicyFileError('not force-installed');
  const url = entry.update_url ?? entry.install_url;
  if (typeof url !== 'string') throw new PolicyFileError('no update or install URL');
  return url;
}
