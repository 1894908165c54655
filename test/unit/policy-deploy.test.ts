/**
 * Every generated deployment file parses with an independent reader and reads back to exactly
 * the validated policy (deep equal). The .reg reader converts values the way Chrome does, using
 * managed_schema.json; the .mobileconfig is parsed by the plist library, not by our writer.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validatePolicy } from '../../src/shared/policy/validate';
import type { Policy } from '../../src/shared/policy/schema';
import { buildDeployment, DEFAULT_BUILD_OPTIONS, type OutputFile } from '../../scripts/policy/build';
import { readFirefoxPolicies, readGoogleAdmin, readInstallUpdateUrl, readLinuxManaged } from '../../scripts/policy/json-files';
import { readMobileconfig } from '../../scripts/policy/mobileconfig';
import { decodeReg, parseReg, regValuesToPolicy, toRegValues, writeRegText, encodeReg } from '../../scripts/policy/registry';
import { uuidV5 } from '../../scripts/policy/uuid';
import { CHROMIUM_EXTENSION_ID, GECKO_ID } from '../../src/shared/ids';

const schema = JSON.parse(readFileSync(new URL('../../assets/managed_schema.json', import.meta.url), 'utf8'));
const example = validatePolicy(JSON.parse(readFileSync(new URL('../../docs/examples/policy.json', import.meta.url), 'utf8')));

const text = (f: OutputFile) => (typeof f.content === 'string' ? f.content : f.content.toString('utf8'));
function file(files: OutputFile[], path: string): OutputFile {
  const f = files.find((x) => x.path === path);
  if (!f) throw new Error(`missing ${path}`);
  return f;
}

const CHROME_KEY = `HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Google\\Chrome\\3rdparty\\extensions\\${CHROMIUM_EXTENSION_ID}\\policy`;
const EDGE_KEY = `HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Edge\\3rdparty\\extensions\\${CHROMIUM_EXTENSION_ID}\\policy`;

/** Reads every policy-bearing output back; each entry must equal the input policy. */
function readBack(files: OutputFile[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  out['policy.json'] = JSON.parse(text(file(files, 'policy.json')));
  for (const dir of ['etc/opt/chrome', 'etc/chromium', 'etc/opt/edge']) {
    const path = `linux/${dir}/policies/managed/kontor.json`;
    out[path] = readLinuxManaged(text(file(files, path)), CHROMIUM_EXTENSION_ID);
  }
  for (const [b, key] of [
    ['chrome', CHROME_KEY],
    ['edge', EDGE_KEY],
  ] as const) {
    const path = `windows/${b}-policy.reg`;
    const doc = parseReg(decodeReg(file(files, path).content as Buffer));
    expect([...doc.keys()]).toEqual([key]); // deletion and re-creation of the same key only
    out[path] = regValuesToPolicy(doc.get(key) ?? new Map(), schema);
    const mac = readMobileconfig(text(file(files, `macos/${b}-policy.mobileconfig`)));
    expect(mac.domain).toBe(`${b === 'chrome' ? 'com.google.Chrome' : 'com.microsoft.Edge'}.extensions.${CHROMIUM_EXTENSION_ID}`);
    out[`macos/${b}-policy.mobileconfig`] = mac.settings;
  }
  out['firefox/policies.json'] = readFirefoxPolicies(text(file(files, 'firefox/policies.json')), GECKO_ID);
  out['install/firefox/policies.json'] = readFirefoxPolicies(text(file(files, 'install/firefox/policies.json')), GECKO_ID);
  out['google-admin/kontor-policy.json'] = readGoogleAdmin(text(file(files, 'google-admin/kontor-policy.json')));
  return out;
}

function expectRoundTrip(policy: Policy) {
  const files = buildDeployment(policy);
  const back = readBack(files);
  expect(Object.keys(back)).toHaveLength(11);
  for (const [path, value] of Object.entries(back)) {
    expect(value, path).toEqual(policy);
    // What comes back is also a policy Kontor accepts without a single problem.
    expect(validatePolicy(value).problems, path).toEqual([]);
  }
}

describe('deployment files', () => {
  it('the example policy validates and every output round-trips', () => {
    expect(example.problems).toEqual([]);
    expectRoundTrip(example.policy);
  });

  it('the empty policy round-trips too', () => expectRoundTrip({}));

  it('non-ASCII names, quotes and backslashes survive the registry and the plist', () => {
    expectRoundTrip({
      partners: [{ domain: 'müller.example', name: 'Müller & Söhne "Büro" \\ 東京 <GmbH>' }],
      retentionDays: 3650,
      disableOnboarding: false,
      blocking: { locked: false, categories: { ads: false } },
    });
  });

  it('random valid policies round-trip (property)', () => {
    const domain = fc.domain();
    const policyArb = fc.record(
      {
        organization: fc.record(
          { domain, gateway: fc.constantFrom('https://gw.acme.example', 'http://127.0.0.1:8080') },
          { requiredKeys: [] },
        ),
        partners: fc.uniqueArray(
          fc.record(
            {
              domain,
              name: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() === s && s.length > 0 && !/[\r\n\0]/.test(s)),
            },
            { requiredKeys: ['domain'] },
          ),
          { maxLength: 4, selector: (p) => p.domain },
        ),
        blocking: fc.record(
          { categories: fc.record({ ads: fc.boolean(), social: fc.boolean() }, { requiredKeys: [] }), locked: fc.boolean() },
          { requiredKeys: [] },
        ),
        retentionDays: fc.integer({ min: 1, max: 3650 }),
        disableOnboarding: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(policyArb, (raw) => {
        const { policy, problems } = validatePolicy(raw);
        expect(problems).toEqual([]);
        expectRoundTrip(policy);
      }),
      { numRuns: 60 },
    );
  });

  it('builds are reproducible and profile UUIDs are valid v5 UUIDs that follow the content', () => {
    const a = buildDeployment(example.policy);
    const b = buildDeployment(example.policy);
    expect(a.map(text)).toEqual(b.map(text));
    const uuids = (s: string) => [...s.matchAll(/<key>PayloadUUID<\/key>\s*<string>([^<]+)<\/string>/g)].map((m) => m[1]);
    const ids = uuids(text(file(a, 'macos/chrome-policy.mobileconfig')));
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    const other = buildDeployment({ ...example.policy, retentionDays: 30 });
    expect(uuids(text(file(other, 'macos/chrome-policy.mobileconfig')))).not.toEqual(ids);
    // RFC 4122 appendix B style check: DNS namespace, "www.example.com".
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8').toLowerCase()).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('.reg files are UTF-16LE with BOM and CRLF, as regedit writes them', () => {
    const reg = file(buildDeployment(example.policy), 'windows/chrome-policy.reg').content as Buffer;
    expect([...reg.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    const t = decodeReg(reg);
    expect(t.startsWith('Windows Registry Editor Version 5.00\r\n')).toBe(true);
    expect(t.replace(/\r\n/g, '')).not.toContain('\n');
    expect(t).toContain('"retentionDays"=dword:0000016d');
    expect(t).toContain('"disableOnboarding"=dword:00000001');
  });

  it('registry reader drops values Chrome would drop (wrong type, bad JSON)', () => {
    const key = 'HKEY_LOCAL_MACHINE\\X';
    const t = `Windows Registry Editor Version 5.00\r\n\r\n[${key}]\r\n"partners"="not json"\r\n"blocking"="[1]"\r\n"retentionDays"="30"\r\n"disableOnboarding"=dword:00000000\r\n"organization"="{\\"domain\\":\\"a.example\\"}"\r\n`;
    const values = parseReg(decodeReg(encodeReg(t))).get(key);
    expect(regValuesToPolicy(values ?? new Map(), schema)).toEqual({ disableOnboarding: false, organization: { domain: 'a.example' } });
    expect(() => parseReg('REGEDIT4\r\n')).toThrow(/not a \.reg file/);
    expect(() => writeRegText(key, toRegValues({ x: 'a\nb' }))).toThrow(/line break/);
  });

  it('install files force-install the right id from the right URL, apart from the policy files', () => {
    const files = buildDeployment(example.policy, { ...DEFAULT_BUILD_OPTIONS, edgeId: 'abcdefghijklmnopabcdefghijklmnop' });
    const linux = JSON.parse(text(file(files, 'install/linux/etc/opt/chrome/policies/managed/kontor-install.json')));
    expect(readInstallUpdateUrl(linux.ExtensionSettings, CHROMIUM_EXTENSION_ID)).toBe(DEFAULT_BUILD_OPTIONS.chromeUpdateUrl);
    const edgeReg = parseReg(decodeReg(file(files, 'install/windows/edge-install.reg').content as Buffer));
    // Never deletes the browser's policy root; only sets ExtensionSettings under it.
    expect([...edgeReg.entries()].map(([k, v]) => [k, v === null])).toEqual([
      ['HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Edge', false],
    ]);
    const edgeSettings = JSON.parse(
      edgeReg.get('HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Edge')?.get('ExtensionSettings')?.data as string,
    );
    expect(readInstallUpdateUrl(edgeSettings, 'abcdefghijklmnopabcdefghijklmnop')).toBe(DEFAULT_BUILD_OPTIONS.edgeUpdateUrl);
    const mac = readMobileconfig(text(file(files, 'install/macos/chrome-install.mobileconfig')));
    expect(mac.domain).toBe('com.google.Chrome');
    expect(readInstallUpdateUrl(mac.settings.ExtensionSettings, CHROMIUM_EXTENSION_ID)).toBe(DEFAULT_BUILD_OPTIONS.chromeUpdateUrl);
    const ff = JSON.parse(text(file(files, 'install/firefox/policies.json')));
    expect(readInstallUpdateUrl(ff.policies.ExtensionSettings, GECKO_ID)).toBe(DEFAULT_BUILD_OPTIONS.firefoxInstallUrl);
    // Edge's own policy key uses the Edge id.
    const edgePolicy = parseReg(decodeReg(file(files, 'windows/edge-policy.reg').content as Buffer));
    expect([...edgePolicy.keys()][0]).toContain('\\extensions\\abcdefghijklmnopabcdefghijklmnop\\policy');
    // The pure policy files carry no installation settings.
    expect(text(file(files, 'linux/etc/opt/chrome/policies/managed/kontor.json'))).not.toContain('ExtensionSettings');
    expect(text(file(files, 'firefox/policies.json'))).not.toContain('ExtensionSettings');
  });
});
