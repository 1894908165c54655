/**
 * Rewrites test/vectors/*.json from test/support/vectors.ts. Run it only when a wire format
 * changes on purpose (and say so in docs/manifest.md): a changed vector means old clients and
 * gateways no longer agree with the new code.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { root } from '../test/support/paths';
import { buildVectors } from '../test/support/vectors';

const vectors = await buildVectors();
for (const [name, content] of Object.entries(vectors)) {
  const file = path.join(root, 'test/vectors', `${name}.json`);
  writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`);
  console.log(`wrote ${path.relative(root, file)}`);
}
