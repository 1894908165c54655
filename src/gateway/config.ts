/** Gateway configuration: every setting has a flag and an environment variable; flags win. */
import * as v from 'valibot';
import path from 'node:path';
import { Domain, HttpsUrl } from '../wire/schemas';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** flag name -> env var name; repeatable flags collect into arrays */
const OPTIONS = {
  domain: 'KONTOR_DOMAIN',
  data: 'KONTOR_DATA',
  port: 'KONTOR_PORT',
  host: 'KONTOR_HOST',
  'org-name': 'KONTOR_ORG_NAME',
  'public-url': 'KONTOR_PUBLIC_URL',
  profile: 'KONTOR_PROFILES',
  federation: 'KONTOR_FEDERATION',
  resolve: 'KONTOR_RESOLVE',
  'resolve-file': 'KONTOR_RESOLVE_FILE',
  'insecure-dev': 'KONTOR_INSECURE_DEV',
  'port-file': 'KONTOR_PORT_FILE',
  'retention-days': 'KONTOR_RETENTION_DAYS',
  'rate-device': 'KONTOR_RATE_DEVICE',
  'rate-peer': 'KONTOR_RATE_PEER',
  'log-level': 'KONTOR_LOG_LEVEL',
  database: 'KONTOR_DATABASE_URL',
  'org-key-file': 'KONTOR_ORG_KEY_FILE',
  nats: 'KONTOR_NATS_URL',
  'trust-proxy': 'KONTOR_TRUST_PROXY',
  'metrics-port': 'KONTOR_METRICS_PORT',
  'metrics-host': 'KONTOR_METRICS_HOST',
  'max-conns-per-address': 'KONTOR_MAX_CONNS_PER_ADDRESS',
  'revocation-poll-ms': 'KONTOR_REVOCATION_POLL_MS',
} as const;
const REPEATABLE = new Set(['profile', 'resolve']);
const BOOLEAN = new Set(['insecure-dev', 'trust-proxy']);

/** `npm run gateway -- --help` */
export function usage(): string {
  const flags = Object.entries(OPTIONS).map(([flag, env]) => `  --${flag}${BOOLEAN.has(flag) ? '' : ' VALUE'}`.padEnd(30) + env);
  return [
    'Usage: npm run gateway -- --domain acme.example [options]     serve',
    '       npm run gateway -- <enroll|devices|contacts|partners|fingerprint> ...   administer',
    '',
    'Options (flag, or environment variable; flags win):',
    ...flags,
    '',
    'See docs/gateway.md for every option and admin command.',
  ].join('\n');
}

export type RawOptions = Partial<Record<keyof typeof OPTIONS, string | string[] | boolean>>;

/** Parses `--name value`, `--name=value`, boolean flags, and leaves positionals. */
export function parseArgs(
  argv: string[],
  spec: { repeatable: Set<string>; boolean: Set<string> } = { repeatable: REPEATABLE, boolean: BOOLEAN },
): { opts: Record<string, string | string[] | boolean>; positionals: string[] } {
  const opts: Record<string, string | string[] | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    let name = a.slice(2);
    let value: string | boolean;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else if (spec.boolean.has(name)) value = true;
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (spec.repeatable.has(name)) opts[name] = [...((opts[name] as string[] | undefined) ?? []), String(value)];
    else opts[name] = value;
  }
  return { opts, positionals };
}

const Federation = v.picklist(['allowlist', 'open']);

export interface GatewayConfig {
  domain: string;
  dataDir: string;
  port: number;
  host: string;
  orgName: string;
  publicUrl: string | null;
  profiles: string[];
  federation: 'allowlist' | 'open';
  resolve: Map<string, string>;
  resolveFile: string | null;
  insecureDev: boolean;
  portFile: string | null;
  retentionMs: number;
  ratePerDevice: number;
  ratePerPeer: number;
  /** open TCP connections per client address; 0: no cap (behind a proxy every client shares its address) */
  maxConnsPerAddress: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** postgres://… for several instances on one PostgreSQL; null: SQLite in dataDir */
  databaseUrl: string | null;
  /** the org key shared by every instance; null: org-key.jwk.json in dataDir */
  orgKeyFile: string | null;
  /** nats://… connecting the instances that share databaseUrl; null: one instance */
  natsUrl: string | null;
  /** take the client address from the TLS proxy's X-Forwarded-For (client-address.ts) */
  trustProxy: boolean;
  /** /metrics is served only on this separate listener; null: not at all */
  metricsPort: number | null;
  metricsHost: string;
  /** how often the revocations table is read (the safety net under the cluster's event stream) */
  revocationPollMs: number;
}

export function loadConfig(opts: Record<string, string | string[] | boolean>, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  for (const k of Object.keys(opts)) if (!(k in OPTIONS)) throw new ConfigError(`unknown option --${k}`);
  const get = (k: keyof typeof OPTIONS): string | undefined => {
    const o = opts[k];
    if (o !== undefined) return Array.isArray(o) ? o.join(',') : String(o);
    return env[OPTIONS[k]];
  };
  const list = (k: keyof typeof OPTIONS) =>
    (get(k) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const num = (k: keyof typeof OPTIONS, dflt: number) => {
    const s = get(k);
    if (s === undefined) return dflt;
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0) throw new ConfigError(`--${k} must be a non-negative number`);
    return n;
  };
  const domain = get('domain');
  if (!domain || !v.is(Domain, domain)) throw new ConfigError('--domain (KONTOR_DOMAIN) must be a lower-case DNS name');
  const federation = get('federation') ?? 'allowlist';
  if (!v.is(Federation, federation)) throw new ConfigError('--federation must be allowlist or open');
  const resolve = new Map<string, string>();
  for (const r of list('resolve')) {
    const [d, url] = r.split(/=(.*)/s);
    if (!d || !url || !v.is(HttpsUrl, url)) throw new ConfigError(`--resolve expects domain=url, got ${r}`);
    resolve.set(d, url.replace(/\/$/, ''));
  }
  const profiles = list('profile');
  for (const p of profiles) if (!v.is(HttpsUrl, p)) throw new ConfigError(`--profile ${p} is not a URL`);
  const insecure = get('insecure-dev');
  const flag = (k: keyof typeof OPTIONS) => {
    const s = get(k);
    return s === 'true' || s === '1';
  };
  const metricsPort = get('metrics-port') === undefined ? null : num('metrics-port', 0);
  if (metricsPort !== null && !(Number.isInteger(metricsPort) && metricsPort <= 65535))
    throw new ConfigError('--metrics-port must be a port number');
  const logLevel = get('log-level') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError('--log-level must be debug|info|warn|error');
  const databaseUrl = get('database') ?? null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new ConfigError('--database must be a postgres:// URL');
  const orgKeyFile = get('org-key-file') ?? null;
  // each instance would otherwise make its own org key in its own data directory
  if (databaseUrl !== null && orgKeyFile === null) throw new ConfigError('--database needs --org-key-file: one org key for every instance');
  const natsUrl = get('nats') ?? null;
  if (natsUrl !== null && !/^(nats|tls):\/\//.test(natsUrl)) throw new ConfigError('--nats must be a nats:// URL');
  if (natsUrl !== null && databaseUrl === null) throw new ConfigError('--nats connects instances sharing one --database');
  return {
    domain,
    dataDir: path.resolve(get('data') ?? path.join('data', domain)),
    port: num('port', 8080),
    host: get('host') ?? '127.0.0.1',
    orgName: get('org-name') ?? domain,
    publicUrl: get('public-url')?.replace(/\/$/, '') ?? null,
    profiles,
    federation,
    resolve,
    resolveFile: get('resolve-file') ?? null,
    insecureDev: insecure === 'true' || insecure === '1',
    portFile: get('port-file') ?? null,
    retentionMs: num('retention-days', 14) * 86_400_000,
    ratePerDevice: num('rate-device', 500),
    ratePerPeer: num('rate-peer', 200),
    maxConnsPerAddress: num('max-conns-per-address', 256),
    logLevel: logLevel as GatewayConfig['logLevel'],
    databaseUrl,
    orgKeyFile: orgKeyFile === null ? null : path.resolve(orgKeyFile),
    natsUrl,
    trustProxy: flag('trust-proxy'),
    metricsPort,
    metricsHost: get('metrics-host') ?? '127.0.0.1',
    revocationPollMs: Math.max(50, num('revocation-poll-ms', 250)),
  };
}
