/**
 * A company's gateway as a cluster on loopback: PostgreSQL, NATS, N gateway instances sharing
 * one org key file, and HAProxy in front (the address published in the manifest), all
 * throwaway and stopped by PID.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGateway, type GatewayHandle, type StartOptions } from './helpers';
import { freePort, startHaproxy, startNats, startPostgres, type HaproxyHandle, type NatsHandle, type PostgresHandle } from './services';

export interface ClusterHandle {
  domain: string;
  /** the load balancer: what devices and partners use */
  url: string;
  db: PostgresHandle;
  nats: NatsHandle;
  proxy: HaproxyHandle;
  instances: GatewayHandle[];
  env: Record<string, string>;
  /** every instance's and the partner's resolve file */
  setPeers(peers: Record<string, string>): void;
  stop(): Promise<void>;
}

export async function startCluster(
  o: { domain: string; instances?: number; extraArgs?: string[] } & Pick<StartOptions, 'peers'>,
): Promise<ClusterHandle> {
  const [db, nats] = await Promise.all([startPostgres(), startNats()]);
  const keyDir = mkdtempSync(path.join(tmpdir(), 'kontor-orgkey-'));
  const proxyPort = await freePort();
  const url = `http://127.0.0.1:${proxyPort}`;
  const env = { KONTOR_DATABASE_URL: db.url, KONTOR_NATS_URL: nats.url, KONTOR_ORG_KEY_FILE: path.join(keyDir, 'org-key.jwk.json') };
  const instances: GatewayHandle[] = [];
  try {
    // one after another: the first creates the schema and the key, the rest find them
    for (let i = 0; i < (o.instances ?? 3); i++) {
      instances.push(
        await startGateway({ domain: o.domain, env, peers: o.peers, extraArgs: ['--public-url', url, ...(o.extraArgs ?? [])] }),
      );
    }
  } catch (e) {
    await Promise.all(instances.map((g) => g.stop()));
    await Promise.all([db.destroy(), nats.destroy()]);
    rmSync(keyDir, { recursive: true, force: true });
    throw e;
  }
  let proxy: HaproxyHandle | undefined;
  try {
    proxy = await startHaproxy(
      instances.map((g) => g.url),
      proxyPort,
    );
    // wait until HAProxy's health checks let traffic through
    for (const end = Date.now() + 15_000; ; ) {
      const r = await fetch(url + '/readyz').catch(() => null);
      if (r?.status === 200) break;
      if (Date.now() > end) throw new Error('cluster not ready behind HAProxy');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await proxy?.destroy();
    await Promise.all(instances.map((g) => g.stop()));
    await Promise.all([db.destroy(), nats.destroy()]);
    rmSync(keyDir, { recursive: true, force: true });
    throw e;
  }
  return {
    domain: o.domain,
    url,
    db,
    nats,
    proxy,
    instances,
    env,
    setPeers(peers) {
      for (const g of instances) g.setPeers(peers);
    },
    async stop() {
      await proxy.destroy();
      await Promise.all(instances.map((g) => g.stop()));
      await Promise.all([db.destroy(), nats.destroy()]);
      rmSync(keyDir, { recursive: true, force: true });
    },
  };
}
