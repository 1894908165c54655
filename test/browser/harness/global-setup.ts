/**
 * Builds the extension once before any browser test file runs, so every test drives the
 * same dist/ a user would load. Set KONTOR_SKIP_BUILD=1 to reuse an existing dist/.
 */
import { build } from '../../../scripts/build';

export default async function setup(): Promise<void> {
  if (process.env.KONTOR_SKIP_BUILD === '1') return;
  await build({ quiet: true });
}
