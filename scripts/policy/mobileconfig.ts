/**
 * macOS configuration profiles (.mobileconfig, XML plist) for Jamf, Intune for Mac, Kandji and
 * friends. One payload whose PayloadType is the managed preference domain; macOS writes its
 * non-Payload keys to /Library/Managed Preferences/<domain>.plist, where Chrome reads extension
 * policy from `com.google.Chrome.extensions.<id>` and Edge from `com.microsoft.Edge.extensions.<id>`.
 * UUIDs are derived from the content, so the same input builds the same file.
 */
import { build, parse, type PlistValue } from 'plist';
import { PolicyFileError } from './json-files';
import { uuidV5 } from './uuid';

export interface ProfileOptions {
  /** Preference domain the payload configures. */
  readonly domain: string;
  /** Reverse-DNS identifier of the profile; MDMs replace a profile with the same identifier. */
  readonly identifier: string;
  readonly displayName: string;
  readonly description: string;
  readonly organization: string;
}

const isRecord = (x: unknown): x is Record<string, PlistValue> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Date) && !(x instanceof Uint8Array);

export function writeMobileconfig(settings: Record<string, unknown>, o: ProfileOptions): string {
  const content = JSON.stringify(settings);
  const payload = {
    PayloadType: o.domain,
    PayloadVersion: 1,
    PayloadIdentifier: `${o.identifier}.${o.domain}`,
    PayloadUUID: uuidV5(`payload\n${o.identifier}\n${o.domain}\n${content}`),
    PayloadDisplayName: o.displayName,
    PayloadEnabled: true,
    ...settings,
  };
  const profile = {
    PayloadContent: [payload],
    PayloadDescription: o.description,
    PayloadDisplayName: o.displayName,
    PayloadIdentifier: o.identifier,
    PayloadOrganization: o.organization,
    PayloadRemovalDisallowed: true,
    PayloadScope: 'System',
    PayloadType: 'Configuration',
    PayloadUUID: uuidV5(`profile\n${o.identifier}\n${content}`),
    PayloadVersion: 1,
  };
  return `${build(profile as unknown as PlistValue, { pretty: true, indent: '  ' })}\n`;
}

/** Reads back the preference domain and its settings (all keys not starting with "Payload"). */
export function readMobileconfig(text: string): { domain: string; settings: Record<string, unknown> } {
  const profile = parse(text);
  if (!isRecord(profile) || profile.PayloadType !== 'Configuration') throw new PolicyFileError('not a configuration profile');
  const content = profile.PayloadContent;
  const payload = Array.isArray(content) && content.length === 1 ? content[0] : undefined;
  if (!isRecord(payload) || typeof payload.PayloadType !== 'string') throw new PolicyFileError('expected exactly one payload');
  const settings = Object.fromEntries(Object.entries(payload).filter(([k]) => !k.startsWith('Payload')));
  return { domain: payload.PayloadType, settings };
}
