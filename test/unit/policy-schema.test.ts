/**
 * managed_schema.json (what Chrome enforces) and the valibot PolicySchema (what Kontor enforces
 * in every browser) must describe the same keys with the same types; and the JSON file must stay
 * inside the schema dialect Chrome accepts, or Chrome refuses to load the extension.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicySchema } from '../../src/shared/policy/schema';

type Json = { type?: string; properties?: Record<string, Json>; items?: Json; [k: string]: unknown };
type Node = { type: string; entries?: Record<string, Node>; item?: Node; wrapped?: Node; pipe?: { type: string }[] };

const managed = JSON.parse(readFileSync(new URL('../../assets/managed_schema.json', import.meta.url), 'utf8')) as Json;

/** Flattens to `path -> type`, e.g. `partners[].domain -> string`. */
function fromManaged(s: Json, path = '', out = new Map<string, string>()): Map<string, string> {
  out.set(path, s.type ?? '?');
  if (s.properties) for (const [k, v] of Object.entries(s.properties)) fromManaged(v, path ? `${path}.${k}` : k, out);
  if (s.items) fromManaged(s.items, `${path}[]`, out);
  return out;
}

function fromValibot(n: Node, path = '', out = new Map<string, string>()): Map<string, string> {
  const node = n.type === 'optional' && n.wrapped ? n.wrapped : n;
  const integer = node.pipe?.some((a) => a.type === 'integer');
  out.set(path, node.type === 'number' && integer ? 'integer' : node.type);
  if (node.entries) for (const [k, v] of Object.entries(node.entries)) fromValibot(v, path ? `${path}.${k}` : k, out);
  if (node.item) fromValibot(node.item, `${path}[]`, out);
  return out;
}

// Chromium components/policy/core/common/schema.cc: attributes allowed per type.
const ALLOWED: Record<string, string[]> = {
  object: ['type', 'title', 'description', 'id', 'properties', 'patternProperties', 'additionalProperties', 'required', 'sensitiveValue'],
  array: ['type', 'title', 'description', 'id', 'items', 'sensitiveValue'],
  string: ['type', 'title', 'description', 'id', 'enum', 'pattern', 'sensitiveValue'],
  integer: ['type', 'title', 'description', 'id', 'enum', 'minimum', 'maximum', 'sensitiveValue'],
  boolean: ['type', 'title', 'description', 'id', 'sensitiveValue'],
  number: ['type', 'title', 'description', 'id', 'sensitiveValue'],
};

function checkChromeDialect(s: Json, path: string): string[] {
  const errors: string[] = [];
  const allowed = ALLOWED[s.type ?? ''];
  if (!allowed) return [`${path}: unknown type ${String(s.type)}`];
  for (const key of Object.keys(s)) if (!allowed.includes(key)) errors.push(`${path}: attribute ${key} not allowed for ${s.type}`);
  if (s.type === 'array' && !s.items) errors.push(`${path}: array without items`);
  for (const [k, v] of Object.entries(s.properties ?? {})) errors.push(...checkChromeDialect(v, `${path}.${k}`));
  if (s.items) errors.push(...checkChromeDialect(s.items, `${path}[]`));
  return errors;
}

describe('managed_schema.json', () => {
  it('describes the same keys and types as the valibot PolicySchema', () => {
    const a = Object.fromEntries(fromManaged(managed));
    const b = Object.fromEntries(fromValibot(PolicySchema as unknown as Node));
    expect(a).toEqual(b);
    expect(Object.keys(a).length).toBeGreaterThan(20);
  });

  it('stays inside the schema dialect Chrome accepts', () => {
    expect(managed.type).toBe('object');
    expect(managed).not.toHaveProperty('additionalProperties');
    expect(checkChromeDialect(managed, '')).toEqual([]);
  });

  it('leaves range and format checks to Kontor, so Chrome passes such values through to be reported', () => {
    const text = JSON.stringify(managed);
    for (const attr of ['"required"', '"minimum"', '"maximum"', '"pattern"', '"enum"']) expect(text).not.toContain(attr);
  });
});

describe('docs/admin.md', () => {
  const doc = readFileSync(new URL('../../docs/admin.md', import.meta.url), 'utf8');

  it('documents every policy key', () => {
    const missing = [...fromManaged(managed).keys()]
      .filter((p) => p !== '' && !p.endsWith('[]'))
      .filter((p) => {
        const name = p.split('.').pop() ?? p;
        return !doc.includes(`\`${p}\``) && !doc.includes(`.${name}\``) && !doc.includes(`\`${name}\``);
      });
    expect(missing).toEqual([]);
  });

  it('shows the same complete example as docs/examples/policy.json', () => {
    const block = /```json\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    const example = readFileSync(new URL('../../docs/examples/policy.json', import.meta.url), 'utf8');
    expect(JSON.parse(block)).toEqual(JSON.parse(example));
  });
});
