/**
 * Lenient validation with repair: every valid part of a document is kept, every problem is
 * reported with its JSON path, and only the bad parts are dropped. One walker for everything
 * Kontor reads that someone else may have written or damaged: the admin's policy (policy/
 * validate.ts) and Kontor's own stored records (background/storage/). Never throws; uses no
 * browser or Node API.
 *
 * The walk follows valibot's object, array, record, optional and nullable schemas; every other
 * schema is a leaf checked whole.
 * - object: unknown keys are dropped (`unknown_key`); a bad optional field is dropped and takes
 *   its default if the schema gives one; a bad or missing required field fails the object.
 * - array: a bad item is dropped, an object item with any invalid value is dropped whole, and
 *   an item whose identity (the string, or its `domain`) repeats an earlier one is dropped.
 * - record: a bad entry is dropped, the rest kept.
 */
import * as v from 'valibot';

export type ProblemCode = 'unknown_key' | 'invalid' | 'required' | 'duplicate';

export interface Problem {
  /** JSON path, e.g. `partners[2].domain`; '' is the document itself. */
  readonly path: string;
  readonly code: ProblemCode;
  /** Plain English, without the path. */
  readonly message: string;
}

export type Repaired<T> = { ok: true; value: T; problems: Problem[] } | { ok: false; problems: Problem[] };

type Walked = { ok: true; value: unknown } | { ok: false };
// Structural view of the valibot schema objects we walk.
type Node = v.GenericSchema & {
  entries?: Record<string, Node>;
  item?: Node;
  key?: Node;
  value?: Node;
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

function walk(schema: Node, input: unknown, path: string, out: Problem[]): Walked {
  if (schema.type === 'object' && schema.entries) return walkObject(schema, schema.entries, input, path, out);
  if (schema.type === 'array' && schema.item) return walkArray(schema, schema.item, input, path, out);
  if (schema.type === 'record' && schema.key && schema.value) return walkRecord(schema, schema.key, schema.value, input, path, out);
  if (schema.type === 'nullable' && schema.wrapped)
    return input === null ? { ok: true, value: null } : walk(schema.wrapped, input, path, out);
  const result = v.safeParse(schema, input);
  if (result.success) return { ok: true, value: result.output };
  out.push({ path, code: 'invalid', message: result.issues[0]?.message ?? 'is invalid' });
  return { ok: false };
}

function walkObject(schema: Node, entries: Record<string, Node>, input: unknown, path: string, out: Problem[]): Walked {
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
    if (Object.hasOwn(result, key)) continue;
    if (entry.type === 'optional') {
      const fallback: unknown = v.getDefault(entry as v.OptionalSchema<v.GenericSchema, unknown>);
      if (fallback !== undefined) result[key] = fallback;
    } else if (!Object.hasOwn(input, key)) {
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

function walkArray(schema: Node, item: Node, input: unknown, path: string, out: Problem[]): Walked {
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
  return finish(schema, kept, path, out);
}

function walkRecord(schema: Node, key: Node, value: Node, input: unknown, path: string, out: Problem[]): Walked {
  if (!isRecord(input)) {
    out.push({ path, code: 'invalid', message: firstMessage(schema, input) });
    return { ok: false };
  }
  const kept: Record<string, unknown> = {};
  for (const k of Object.keys(input)) {
    const keyPath = joinKey(path, k);
    const keyOk = v.safeParse(key, k);
    if (!keyOk.success) {
      out.push({ path: keyPath, code: 'unknown_key', message: 'unknown key, ignored' });
      continue;
    }
    const walked = walk(value, input[k], keyPath, out);
    if (walked.ok) kept[k] = walked.value;
  }
  return finish(schema, kept, path, out);
}

/** Container-level rules (a list's maximum length, say) run on what is left. */
function finish(schema: Node, kept: unknown, path: string, out: Problem[]): Walked {
  const result = v.safeParse(schema, kept);
  if (!result.success) {
    out.push({ path, code: 'invalid', message: result.issues[0]?.message ?? 'is invalid' });
    return { ok: false };
  }
  return { ok: true, value: result.output };
}

/**
 * Validates `input` against `schema`, keeping every valid part.
 *
 * @example
 * const r = repair(v.object({ a: v.optional(v.number()), b: v.optional(v.string()) }), { a: 'x', b: 'ok' });
 * // r.ok, r.value = { b: 'ok' }, r.problems = [{ path: 'a', code: 'invalid', ... }]
 */
export function repair<S extends v.GenericSchema>(schema: S, input: unknown): Repaired<v.InferOutput<S>> {
  const problems: Problem[] = [];
  try {
    const walked = walk(schema as Node, input, '', problems);
    return walked.ok ? { ok: true, value: walked.value as v.InferOutput<S>, problems } : { ok: false, problems };
  } catch {
    // Exotic inputs (throwing getters, proxies) cannot come from JSON or storage; still, a
    // damaged document must never stop Kontor.
    problems.push({ path: '', code: 'invalid', message: 'could not be read' });
    return { ok: false, problems };
  }
}

/** One line for logs and the CLI: `partners[2].domain: is required`. */
export function formatProblem(problem: Problem): string {
  return `${problem.path === '' ? '(document)' : problem.path}: ${problem.message}`;
}
