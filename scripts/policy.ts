/**
 * Kontor policy admin tool (issue 7).
 *
 *   npm run policy -- validate FILE
 *   npm run policy -- build FILE --out DIR [--edge-id ID] [--chrome-update-url URL]
 *                                          [--edge-update-url URL] [--firefox-install-url URL]
 *
 * Exit codes: 0 valid / built, 1 the document has problems, 2 usage error or unreadable file.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatProblem, validatePolicy, type PolicyValidation } from '../src/shared/policy/validate';
import { buildDeployment, DEFAULT_BUILD_OPTIONS } from './policy/build';

const USAGE = `usage:
  npm run policy -- validate FILE
  npm run policy -- build FILE --out DIR [--edge-id ID] [--chrome-update-url URL] [--edge-update-url URL] [--firefox-install-url URL]`;

class UsageError extends Error {
  override name = 'UsageError';
}

function load(file: string | undefined): PolicyValidation {
  if (!file) throw new UsageError('missing FILE');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  return validatePolicy(doc);
}

function report(file: string, { problems }: PolicyValidation): boolean {
  if (problems.length === 0) return true;
  console.error(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  for (const problem of problems) console.error(`  ${formatProblem(problem)}`);
  return false;
}

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'edge-id': { type: 'string' },
      'chrome-update-url': { type: 'string' },
      'edge-update-url': { type: 'string' },
      'firefox-install-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, file, ...extra] = positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);

  if (command === 'validate') {
    const result = load(file);
    if (!report(file ?? '', result)) return 1;
    console.log(`${file}: valid`);
    return 0;
  }
  if (command === 'build') {
    if (!values.out) throw new UsageError('build needs --out DIR');
    const result = load(file);
    if (!report(file ?? '', result)) {
      console.error('nothing written: fix the problems above first');
      return 1;
    }
    const files = buildDeployment(result.policy, {
      ...DEFAULT_BUILD_OPTIONS,
      edgeId: values['edge-id'] ?? DEFAULT_BUILD_OPTIONS.edgeId,
      chromeUpdateUrl: values['chrome-update-url'] ?? DEFAULT_BUILD_OPTIONS.chromeUpdateUrl,
      edgeUpdateUrl: values['edge-update-url'] ?? DEFAULT_BUILD_OPTIONS.edgeUpdateUrl,
      firefoxInstallUrl: values['firefox-install-url'] ?? DEFAULT_BUILD_OPTIONS.firefoxInstallUrl,
    });
    for (const f of files) {
      const target = join(values.out, f.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.content);
      console.log(`wrote ${target}`);
    }
    console.log(`${files.length} files; see ${join(values.out, 'README.md')} for where each goes`);
    return 0;
  }
  throw new UsageError(command ? `unknown command "${command}"` : 'missing command');
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`error: ${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
  } else throw error;
}
