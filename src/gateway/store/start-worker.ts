/**
 * Starts a worker thread from a module beside the caller. Under tsx (tests, unit tier) the
 * caller is a .ts file and so is its worker; in the compiled gateway (dist/gateway) both are
 * .js. On Node 20 a worker does not get the loader hooks that `--import tsx` installed in the
 * main thread: `new Worker('x.ts')` fails with ERR_UNKNOWN_FILE_EXTENSION. A .ts worker therefore
 * starts through a tiny bootstrap that registers tsx first; a compiled .js worker starts directly.
 *
 * @param name the worker module's file name without extension, e.g. './store-worker'
 * @param callerUrl the caller's import.meta.url
 */
import { Worker } from 'node:worker_threads';

export function startWorker(name: string, callerUrl: string, workerData: unknown): Worker {
  const url = new URL(`${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
