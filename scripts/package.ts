/**
 * `npm run package`: builds, then writes store-ready zips of both builds with web-ext into
 * dist/packages/ (kontor-chromium-VERSION.zip, kontor-firefox-VERSION.zip).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { build, root, targets } from './build';

await build();
const out = path.join(root, 'dist/packages');
mkdirSync(out, { recursive: true });
const version = (JSON.parse((await import('node:fs')).readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string })
  .version;
for (const target of targets) {
  const tmp = path.join(out, `.${target}`);
  execFileSync('npx', ['web-ext', 'build', '--source-dir', path.join(root, 'dist', target), '--artifacts-dir', tmp, '--overwrite-dest'], {
    stdio: 'inherit',
  });
  const [zip] = readdirSync(tmp).filter((f) => f.endsWith('.zip'));
  if (!zip) throw new Error(`web-ext wrote no zip for ${target}`);
  renameSync(path.join(tmp, zip), path.join(out, `kontor-${target}-${version}.zip`));
  console.log(`dist/packages/kontor-${target}-${version}.zip`);
}
