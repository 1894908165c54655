/**
 * Throwaway server instances for tests and benchmarks: PostgreSQL 15, nats-server (JetStream)
 * and HAProxy from Debian's packages (scripts/setup.sh installs them). Each runs in its own
 * temporary directory on a free loopback port, as a direct child of this process, and is
 * stopped by its PID: by stop(), or when this process exits (also after a failed test).
 * Services the machine runs already are never touched.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Children still running when this process ends die with it: no servers left behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** A port nobody listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export interface ServiceHandle {
  port: number;
  dir: string;
  process: ChildProcess;
  /** stops the server (its PID only) and waits for it; the data directory stays for start() */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** starts it again on the same port and data directory */
  start(): Promise<void>;
  /** stop() and remove the directory */
  destroy(): Promise<void>;
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

/** Spawns a server and resolves once `ready` matched its output (stdout or stderr), or at once for null. */
function launch(
  cmd: string,
  args: string[],
  ready: RegExp | null,
  opts: { uid?: number; gid?: number; cwd?: string },
  what: string,
): Promise<ChildProcess> {
  const p = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(p);
  p.once('exit', () => running.delete(p));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${what} did not start: ${out}`));
    }, 30_000);
    const on = (d: Buffer) => {
      out += d.toString();
      if (ready === null || ready.test(out)) {
        clearTimeout(timer);
        // keep draining the pipes so a chatty server never blocks on a full one
        p.stdout!.off('data', on);
        p.stderr!.off('data', on);
        p.stdout!.resume();
        p.stderr!.resume();
        resolve(p);
      }
    };
    p.stdout!.on('data', on);
    p.stderr!.on('data', on);
    p.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? sig}): ${out}`));
    });
    p.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (ready === null) on(Buffer.alloc(0));
  });
}

function handle(dir: string, port: number, spawnIt: () => Promise<ChildProcess>, stopSignal: NodeJS.Signals): Promise<ServiceHandle> {
  const h: ServiceHandle = {
    port,
    dir,
    process: undefined as unknown as ChildProcess,
    async stop(signal = stopSignal) {
      if (h.process.exitCode === null && h.process.signalCode === null) h.process.kill(signal);
      await exited(h.process);
    },
    async start() {
      h.process = await spawnIt();
    },
    async destroy() {
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // a server that did not come up leaves no directory behind
  return h.start().then(
    () => h,
    (e: unknown) => {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    },
  );
}

export interface PostgresHandle extends ServiceHandle {
  url: string;
}

/**
 * A fresh PostgreSQL cluster (initdb refuses root, so it runs as the postgres user), trusting
 * loopback connections of the role `kontor`. The postmaster runs in the foreground as our
 * child; SIGINT is PostgreSQL's fast shutdown.
 */
export async function startPostgres(): Promise<PostgresHandle> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kontor-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(dir, uid, gid);
  const data = path.join(dir, 'data');
  execFileSync(`${PG_BIN}/initdb`, ['-D', data, '-A', 'trust', '-U', 'kontor', '--no-sync'], { uid, gid, cwd: dir, stdio: 'ignore' });
  const port = await freePort();
  const h = await handle(
    dir,
    port,
    () =>
      launch(
        `${PG_BIN}/postgres`,
        [
          '-D',
          data,
          '-p',
          String(port),
          '-k',
          dir,
          '-c',
          'listen_addresses=127.0.0.1',
          // the gateway relies on these; stated here so a changed default cannot weaken the tests
          '-c',
          'synchronous_commit=on',
          '-c',
          'fsync=on',
          '-c',
          'max_connections=200',
        ],
        /database system is ready to accept connections/,
        { uid, gid, cwd: dir },
        'postgres',
      ),
    'SIGINT',
  );
  return Object.assign(h, { url: `postgres://kontor@127.0.0.1:${port}/postgres` });
}

export interface NatsHandle extends ServiceHandle {
  url: string;
}

/** nats-server with JetStream storing in its temp directory. */
export async function startNats(): Promise<NatsHandle> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kontor-nats-'));
  const port = await freePort();
  const h = await handle(
    dir,
    port,
    () => launch('nats-server', ['-js', '-sd', dir, '-p', String(port), '-a', '127.0.0.1'], /Server is ready/, { cwd: dir }, 'nats-server'),
    'SIGTERM',
  );
  return Object.assign(h, { url: `nats://127.0.0.1:${port}` });
}

export interface HaproxyHandle extends ServiceHandle {
  url: string;
}

/**
 * HAProxy in front of gateway instances (`mode http` carries the WebSocket upgrade), checking
 * each backend's /readyz every 500 ms so a dead or unready instance leaves the rotation.
 */
export async function startHaproxy(backends: string[], fixedPort?: number): Promise<HaproxyHandle> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kontor-haproxy-'));
  const port = fixedPort ?? (await freePort());
  const cfg = [
    // maxconn stays below what the file-descriptor limit allows (two descriptors per connection)
    'global',
    '  maxconn 4000',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 1h',
    '  timeout server 1h',
    '  timeout tunnel 1h',
    '  option redispatch',
    '  retries 3',
    `frontend fe`,
    `  bind 127.0.0.1:${port}`,
    '  default_backend gw',
    'backend gw',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    ...backends.map((b, i) => `  server g${i} ${new URL(b).host} check inter 500 fall 2 rise 2`),
    '',
  ].join('\n');
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(file, cfg);
  // HAProxy prints nothing when it starts: wait until the frontend accepts connections
  const h = await handle(
    dir,
    port,
    async () => {
      const p = await launch('haproxy', ['-db', '-f', file], null, { cwd: dir }, 'haproxy');
      for (const deadline = Date.now() + 10_000; ; ) {
        if (p.exitCode !== null) throw new Error(`haproxy exited (${p.exitCode}), see ${file}`);
        if (await accepts(port)) return p;
        if (Date.now() > deadline) throw new Error('haproxy did not listen in time');
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    'SIGTERM',
  );
  return Object.assign(h, { url: `http://127.0.0.1:${port}` });
}
