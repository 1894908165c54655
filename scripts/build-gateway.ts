/**
 * Compiles the gateway to plain JavaScript in dist/gateway/ (main.js and its two worker
 * threads side by side, as src/gateway/store resolves them). Run from TypeScript through tsx
 * the gateway carried the loader and its threads: 154 MB RSS idle against 80 MB compiled.
 * `npm run gateway` and the test and benchmark helpers build it first (about 50 ms).
 */
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const gatewayDir = path.join(root, 'dist', 'gateway');
export const gatewayMain = path.join(gatewayDir, 'main.js');
/** Node flags the gateway runs with; keep `npm run gateway` in package.json the same. */
export const GATEWAY_NODE_FLAGS = ['--enable-source-maps', '--max-semi-space-size=32'];

export async function buildGateway(): Promise<void> {
  await build({
    entryPoints: ['src/gateway/main.ts', 'src/gateway/store/store-worker.ts', 'src/gateway/store/checkpoint-worker.ts'].map((f) =>
      path.join(root, f),
    ),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: gatewayDir,
    entryNames: '[name]',
    // native addon and its JS stay in node_modules; everything else is bundled
    external: ['better-sqlite3', 'ws'],
    // bundled CommonJS code may call require()
    banner: { js: "import { createRequire as __kontorRequire } from 'node:module'; const require = __kontorRequire(import.meta.url);" },
    sourcemap: true,
    logLevel: 'warning',
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildGateway().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
