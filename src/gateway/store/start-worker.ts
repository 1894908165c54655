/**
 * Starts a worker thread from a module URL. The gateway runs as TypeScript through tsx, and on
 * Node 20 a worker does not get the loader hooks that `--import tsx` installed in the main
 * thread: `new Worker('x.ts')` fails with ERR_UNKNOWN_FILE_EXTENSION. A .ts worker therefore
 * starts through a tiny bootstrap that registers tsx first; a compiled .js worker starts directly.
 */
import { Worker } from 'node:worker_threads';

export function startWorker(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
