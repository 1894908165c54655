/** The admin CLI as admins run it: a real child process, real files, exit codes. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLinuxManaged } from '../../scripts/policy/json-files';
import { validatePolicy } from '../../src/shared/policy/validate';
import { CHROMIUM_EXTENSION_ID } from '../../src/shared/ids';

const root = new URL('../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'kontor-policy-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/policy.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function write(name: string, content: string): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

const bad = {
  organization: { domain: 'acme.example', gateway: 'http://gw.acme.com' },
  partners: [{ domain: 'globex.example' }, { name: 'no domain' }],
  retentionDays: 0,
  colour: 'blue',
};

// every test spawns the CLI (tsx) up to five times: seconds each on a busy machine, not a unit test's 5 s
describe('npm run policy', { timeout: 60_000 }, () => {
  it('validate: example document is valid (exit 0)', () => {
    const r = cli('validate', 'docs/examples/policy.json');
    expect(r.code).toBe(0);
    expect(r.out).toContain('valid');
    expect(r.err).toBe('');
  });

  it('validate: reports every problem with its JSON path (exit 1)', () => {
    const r = cli('validate', write('bad.json', JSON.stringify(bad)));
    expect(r.code).toBe(1);
    expect(r.err).toContain('4 problems');
    for (const path of [
      'organization.gateway:',
      'partners[1].domain: is required',
      'retentionDays: must be at least 1',
      'colour: unknown key, ignored',
    ])
      expect(r.err).toContain(path);
  });

  it('validate: broken JSON, missing file and bad usage exit 2', () => {
    expect(cli('validate', write('broken.json', '{"partners": [')).code).toBe(2);
    expect(cli('validate', join(work, 'nope.json')).code).toBe(2);
    expect(cli('frobnicate', 'x').code).toBe(2);
    expect(cli('build', 'docs/examples/policy.json').code).toBe(2); // no --out
    expect(cli().code).toBe(2);
  });

  it('build: refuses an invalid document and writes nothing (exit 1)', () => {
    const out = join(work, 'out-bad');
    const r = cli('build', write('bad2.json', JSON.stringify(bad)), '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toContain('partners[1].domain');
    expect(existsSync(out)).toBe(false);
  });

  it('build: writes every deployment file, and the Chrome file carries the validated policy (exit 0)', () => {
    const out = join(work, 'out');
    const r = cli('build', 'docs/examples/policy.json', '--out', out);
    expect(r.code).toBe(0);
    const expected = validatePolicy(JSON.parse(readFileSync(join(root, 'docs/examples/policy.json'), 'utf8'))).policy;
    const chrome = readFileSync(join(out, 'linux/etc/opt/chrome/policies/managed/kontor.json'), 'utf8');
    expect(readLinuxManaged(chrome, CHROMIUM_EXTENSION_ID)).toEqual(expected);
    for (const f of [
      'linux/etc/chromium/policies/managed/kontor.json',
      'linux/etc/opt/edge/policies/managed/kontor.json',
      'windows/chrome-policy.reg',
      'windows/edge-policy.reg',
      'macos/chrome-policy.mobileconfig',
      'macos/edge-policy.mobileconfig',
      'firefox/policies.json',
      'google-admin/kontor-policy.json',
      'README.md',
      'install/firefox/policies.json',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect(readdirSync(join(out, 'install'))).toEqual(['firefox', 'linux', 'macos', 'windows']);
  });
});
