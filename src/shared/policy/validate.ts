/**
 * Validates a policy document leniently: every valid part is applied, every problem is
 * reported with its JSON path. Firefox does not enforce managed_schema.json and Chrome drops bad
 * values silently, so this is the one place where admins (options page, `npm run policy`) learn
 * what went wrong. Never throws; uses no Node API (it runs in the service worker).
 */
import * as v from 'valibot';
import { PolicySchema, type Policy } from './schema';

export type PolicyProblemCode = 'unknown_key' | 'invalid' | 'required' | 'duplicate';

export interface PolicyProblem {
  /** JSON path, e.g. `partners[2].domain`; '' is the document itself. */
  readonly path: string;
  readonly code: PolicyProblemCode;
  /** Plain English, without the path. */
  readonly message: string;
}

export interface PolicyValidation {
  readonly policy: Policy;
  readonly problems: PolicyProblem[];
}

type Walked = { ok: true; value: unknown } | { ok: false };
// Structural view of the valibot schema objects we walk (object, optional, array, leaves).
type Node = v.GenericSchema & {
  entries?: Record<string, Node>;
  item?: Node;
  wrapped?: Node;
};

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function joinKey(path: string, key: string): string {
  const part = IDENT.test(key) ? key : `[${JSON.stringify(key)}]`;
  return path === '' || part.startsWith('[') ? `${path}${part}` : `${path}.${part}`;
}

function firstMessage(schema: Node, input: unknown): string {
  const result = v.safeParse(schema, input);
  return result.success ? 'is invalid' : (result.issues[0]?.message ?? 'is invalid');
}

function isRecord(input: unknown): input is Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

function walk(schema: Node, input: unknown, path: string, out: PolicyProblem[]): Walked {
  if (schema.type === 'object' && schema.entries) return walkObject(schema, schema.entries, input, path, out);
  if (schema.type === 'array' && schema.item) return walkArray(schema, schema.item, input, path, out);
  const result = v.safeParse(schema, input);
  if (result.success) return { ok: true, value: result.output };
  out.push({ path, code: 'invalid', message: result.issues[0]?.message ?? 'is invalid' });
  return { ok: false };
}

function walkObject(
  schema: Node,
  entries: Record<string, Node>,
  input: unknown,
  path: string,
  out: PolicyProblem[],
): Walked {
  if (!isRecord(input)) {
    out.push({ path, code: 'invalid', message: firstMessage(schema, input) });
    return { ok: false };
  }
  const result: Record<string, unknown> = {};
  let ok = true;
  for (const key of Object.keys(input)) {
    const keyPath = joinKey(path, key);
    // hasOwn: a key like "__proto__" or "toString" must not find Object.prototype members.
    const entry = Object.hasOwn(entries, key) ? entries[key] : undefined;
    if (!entry) {
      out.push({ path: keyPath, code: 'unknown_key', message: 'unknown key, ignored' });
      continue;
    }
    const optional = entry.type === 'optional';
    const walked = walk(optional && entry.wrapped ? entry.wrapped : entry, input[key], keyPath, out);
    if (walked.ok) result[key] = walked.value;
    else if (!optional) ok = false;
  }
  for (const [key, entry] of Object.entries(entries)) {
    if (entry.type !== 'optional' && !Object.hasOwn(input, key)) {
      out.push({ path: joinKey(path, key), code: 'required', message: 'is required' });
      ok = false;
    }
  }
  return ok ? { ok: true, value: result } : { ok: false };
}

/** Identity for duplicate detection: the string itself, or an entry's domain. */
function identity(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.domain === 'string') return value.domain;
  return undefined;
}

function walkArray(schema: Node, item: Node, input: unknown, path: string, out: PolicyProblem[]): Walked {
  if (!Array.isArray(input)) {
    out.push({ path, code: 'invalid', message: firstMessage(schema, input) });
    return { ok: false };
  }
  const kept: unknown[] = [];
  const seen = new Map<string, number>();
  input.forEach((element, index) => {
    const itemPath = `${path}[${index}]`;
    const before = out.length;
    const walked = walk(item, element, itemPath, out);
    if (!walked.ok) return;
    // An entry with any invalid value is dropped whole: a partner kept without its malformed
    // orgKey would silently fall back to a weaker verification.
    if (item.type === 'object' && out.slice(before).some((p) => p.code !== 'unknown_key')) return;
    const id = identity(walked.value);
    const first = id === undefined ? undefined : seen.get(id);
    if (first !== undefined) {
      out.push({ path: itemPath, code: 'duplicate', message: `duplicate of ${path}[${first}], ignored` });
      return;
    }
    if (id !== undefined) seen.set(id, index);
    kept.push(walked.value);
  });
  // List-level rules (maximum length) run on what is left.
  const result = v.safeParse(schema, kept);
  if (!result.success) {
    out.push({ path, code: 'invalid', message: result.issues[0]?.message ?? 'is invalid' });
    return { ok: false };
  }
  return { ok: true, value: result.output };
}

/**
 * Validates a policy document (managed storage contents or a parsed JSON file).
 *
 * @example
 * const { policy, problems } = validatePolicy(await chrome.storage.managed.get());
 */
export function validatePolicy(input: unknown): PolicyValidation {
  const problems: PolicyProblem[] = [];
  try {
    const walked = walk(PolicySchema as Node, input, '', problems);
    return { policy: walked.ok ? (walked.value as Policy) : {}, problems };
  } catch {
    // Exotic inputs (throwing getters, proxies) cannot come from JSON or managed storage; still,
    // a policy problem must never stop Kontor.
    problems.push({ path: '', code: 'invalid', message: 'the policy could not be read' });
    return { policy: {}, problems };
  }
}

/** One line for logs and the CLI: `partners[2].domain: is required`. */
export function formatProblem(problem: PolicyProblem): string {
  return `${problem.path === '' ? '(document)' : problem.path}: ${problem.message}`;
}
