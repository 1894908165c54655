import { describe, expect, it } from 'vitest';
import { loadConfig, parseArgs, usage, ConfigError } from '../../src/gateway/config';

describe('gateway config', () => {
  it('takes flags over environment variables', () => {
    const { opts } = parseArgs([
      '--domain',
      'acme.example',
      '--port=0',
      '--resolve',
      'globex.example=http://127.0.0.1:9',
      '--insecure-dev',
    ]);
    const c = loadConfig(opts, { KONTOR_PORT: '9999', KONTOR_FEDERATION: 'open', KONTOR_ORG_NAME: 'ACME' });
    expect(c).toMatchObject({ domain: 'acme.example', port: 0, federation: 'open', orgName: 'ACME', insecureDev: true });
    expect(c.resolve.get('globex.example')).toBe('http://127.0.0.1:9');
  });
  it('refuses bad values with ConfigError', () => {
    expect(() => loadConfig(parseArgs(['--domain', 'ACME']).opts, {})).toThrow(ConfigError);
    expect(() => loadConfig(parseArgs(['--domain', 'a.example', '--federation', 'yes']).opts, {})).toThrow(ConfigError);
    expect(() => loadConfig(parseArgs(['--domain', 'a.example', '--bogus', '1']).opts, {})).toThrow(ConfigError);
    expect(() => parseArgs(['--domain'])).toThrow(ConfigError);
  });
});

describe('usage', () => {
  it('lists every option with its environment variable', () => {
    const text = usage();
    for (const [flag, env] of [
      ['domain', 'KONTOR_DOMAIN'],
      ['rate-peer', 'KONTOR_RATE_PEER'],
      ['insecure-dev', 'KONTOR_INSECURE_DEV'],
    ]) {
      expect(text).toMatch(new RegExp(`--${flag}\\b.*${env}`));
    }
  });
});
