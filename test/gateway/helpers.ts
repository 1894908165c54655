/**
 * Start and stop real gateway processes for tests (gateway and browser tiers).
 *
 * @example
 * const acme = await startGateway({ domain: 'acme.example' });
 * const code = await acme.enroll('alice', 'Alice Schmidt');
 * ...
 * await acme.stop();
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { enroll as enrollDevice, KontorClient } from '../../src/wire/client';
import { buildGateway, gatewayMain, GATEWAY_NODE_FLAGS } from '../../scripts/build-gateway';
import { generateKeyPair, sign } from '../../src/wire/ed25519';
import type { Certificate } from '../../src/wire/certificate';
import type { Ed25519KeyPair } from '../../src/wire/ed25519';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Built once per process, so every test and benchmark runs the compiled gateway as deployed. */
let built: Promise<void> | null = null;
const ensureBuilt = () => (built ??= buildGateway());

export interface StartOptions {
  domain: string;
  /** reuse a data directory (else a fresh temp dir, removed by stop()) */
  dataDir?: string;
  /** domain -> base URL of partner gateways; can be changed later with setPeers() */
  peers?: Record<string, string>;
  federation?: 'allowlist' | 'open';
  port?: number;
  extraArgs?: string[];
  env?: Record<string, string>;
  /** extra node options, e.g. ['--cpu-prof'] */
  nodeArgs?: string[];
}

export interface GatewayHandle {
  domain: string;
  url: string;
  port: number;
  /** the loopback metrics listener's port, when started with --metrics-port */
  metricsPort: number | null;
  dataDir: string;
  /** everything the process printed on stdout (JSON log lines) */
  logs: string[];
  process: ChildProcess;
  /** runs the admin CLI on this gateway's data dir and returns stdout */
  admin(args: string[]): Promise<string>;
  /** issues a one-time enrollment code via the admin CLI */
  enroll(employee: string, name: string): Promise<string>;
  setPeers(peers: Record<string, string>): void;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** starts the process again on the same port and data dir */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function waitForExit(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

async function waitHealthy(url: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url + '/healthz');
      if (r.status === 200) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gateway at ${url} not healthy in time`);
}

/**
 * Gateways still running when this process ends are killed with it: a test or benchmark that
 * fails or exits early (process.exit) must not leave gateways behind to load the machine and
 * skew the next measurement.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export async function startGateway(o: StartOptions): Promise<GatewayHandle> {
  const ownDir = o.dataDir === undefined;
  const dataDir = o.dataDir ?? mkdtempSync(path.join(tmpdir(), `kontor-${o.domain}-`));
  const resolveFile = path.join(dataDir, 'resolve.json');
  writeFileSync(resolveFile, JSON.stringify(o.peers ?? {}));
  const h = { port: o.port ?? 0 } as GatewayHandle;

  const spawnIt = async (): Promise<void> => {
    await ensureBuilt();
    const args = [
      ...GATEWAY_NODE_FLAGS,
      ...(o.nodeArgs ?? []),
      gatewayMain,
      '--domain',
      o.domain,
      '--data',
      dataDir,
      '--port',
      String(h.port),
      '--host',
      '127.0.0.1',
      '--insecure-dev',
      '--resolve-file',
      resolveFile,
      '--federation',
      o.federation ?? 'allowlist',
      ...(o.extraArgs ?? []),
    ];
    const p = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    h.process = p;
    running.add(p);
    p.once('exit', () => running.delete(p));
    let buf = '';
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway ${o.domain} did not start: ${stderr}`)), 30_000);
      p.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          h.logs.push(line);
          try {
            const j = JSON.parse(line);
            if (j.msg === 'listening') {
              clearTimeout(timer);
              h.metricsPort = j.metricsPort ?? null;
              resolve(j.port);
            }
          } catch {
            /* not JSON */
          }
        }
      });
      p.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        // kept with the logs: a crash's stack is what a failing test needs to show
        for (const l of d.toString().split('\n')) if (l) h.logs.push(`stderr: ${l}`);
      });
      p.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`gateway ${o.domain} exited ${code}: ${stderr}`));
      });
    });
    h.port = port;
    h.url = `http://127.0.0.1:${port}`;
    await waitHealthy(h.url, Date.now() + 10_000);
  };

  Object.assign(h, {
    domain: o.domain,
    dataDir,
    logs: [],
    admin: (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        // the same environment as the server (KONTOR_DATABASE_URL: the same PostgreSQL)
        execFile(
          process.execPath,
          [...GATEWAY_NODE_FLAGS, gatewayMain, ...args, '--data', dataDir],
          { cwd: ROOT, env: { ...process.env, ...o.env } },
          (err, stdout, stderr) => {
            if (err) reject(new Error(`admin ${args.join(' ')} failed: ${stderr || err.message}`));
            else resolve(stdout);
          },
        );
      }),
    async enroll(employee: string, name: string) {
      const out = await h.admin(['enroll', '--employee', employee, '--name', name, '--json']);
      return JSON.parse(out).code as string;
    },
    setPeers(peers: Record<string, string>) {
      writeFileSync(resolveFile, JSON.stringify(peers));
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      h.process.kill(signal);
      await waitForExit(h.process);
    },
    async restart() {
      await h.kill('SIGTERM');
      await spawnIt();
    },
    async stop() {
      if (h.process.exitCode === null && h.process.signalCode === null) await h.kill('SIGTERM');
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  });
  await spawnIt();
  return h;
}

export interface TestDevice {
  client: KontorClient;
  certificate: Certificate;
  deviceKey: Ed25519KeyPair;
  address: string;
  reconnect(url?: string): Promise<KontorClient>;
}

/** The enrollment options that name an MLS signature key and prove holding it. */
export const mlsKeyOptions = (mls: Ed25519KeyPair) => ({
  mlsSignatureKey: mls.publicKeyB64,
  signWithMlsKey: (d: Uint8Array) => sign(mls.privateKey, d),
});

/** Enrolls a device through the CLI code and the client library, then connects it. */
export async function newDevice(gw: GatewayHandle, employee: string, name: string): Promise<TestDevice> {
  const code = await gw.enroll(employee, name);
  const mls = await generateKeyPair();
  const { certificate, deviceKey } = await enrollDevice({ gatewayUrl: gw.url, domain: gw.domain, code, ...mlsKeyOptions(mls) });
  const connect = (url = gw.url) =>
    KontorClient.connect({ gatewayUrl: url, certificate, deviceKey: deviceKey.privateKey, WebSocket: WebSocket as never });
  const d: TestDevice = {
    client: await connect(),
    certificate,
    deviceKey,
    address: `${certificate.deviceId}@${gw.domain}`,
    async reconnect(url?: string) {
      d.client = await connect(url);
      return d.client;
    },
  };
  return d;
}

export const b64 = (s: string) => Buffer.from(s).toString('base64');
export const unb64 = (s: string) => Buffer.from(s, 'base64').toString();

/** Two gateways on loopback that know and admit each other as partners. */
export async function startPartners(a: string, b: string): Promise<[GatewayHandle, GatewayHandle]> {
  const [x, y] = await Promise.all([startGateway({ domain: a }), startGateway({ domain: b })]);
  x.setPeers({ [b]: y.url });
  y.setPeers({ [a]: x.url });
  await x.admin(['partners', 'admit', b]);
  await y.admin(['partners', 'admit', a]);
  return [x, y];
}
