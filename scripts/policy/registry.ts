/**
 * Windows registry (.reg) files for Chrome and Edge extension policy.
 *
 * Mapping, as Chromium's registry reader (components/policy/core/common/registry_dict.cc)
 * converts values against the extension's managed_schema.json:
 * - boolean and integer policies: REG_DWORD;
 * - string policies: REG_SZ;
 * - object and array policies: REG_SZ holding JSON. Chrome also accepts lists as numbered
 *   subkeys, but it sorts those names as strings ("10" before "2"), so JSON keeps order intact.
 *
 * Files are "Windows Registry Editor Version 5.00" text in UTF-16LE with a byte order mark and
 * CRLF line ends, exactly what regedit itself exports, so non-ASCII partner names survive. Each
 * file first deletes the extension's policy key, so a value removed from the policy document
 * does not linger on machines that imported an older file.
 */
import { PolicyFileError } from './json-files';

export type RegValue = { type: 'sz'; data: string } | { type: 'dword'; data: number };
/** Key path -> value name -> value; a deleted key maps to null. */
export type RegDocument = Map<string, Map<string, RegValue> | null>;

const HEADER = 'Windows Registry Editor Version 5.00';

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Turns a policy object into registry values by JSON type. */
export function toRegValues(policy: Record<string, unknown>): Map<string, RegValue> {
  const values = new Map<string, RegValue>();
  for (const [name, value] of Object.entries(policy)) {
    if (typeof value === 'boolean') values.set(name, { type: 'dword', data: value ? 1 : 0 });
    else if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff)
      values.set(name, { type: 'dword', data: value });
    else if (typeof value === 'string') values.set(name, { type: 'sz', data: value });
    else values.set(name, { type: 'sz', data: JSON.stringify(value) });
  }
  return values;
}

function formatValue(name: string, value: RegValue): string {
  // A .reg string cannot hold line breaks or NUL (regedit would need hex(1) for those).
  if (/[\r\n\0]/.test(name) || (value.type === 'sz' && /[\r\n\0]/.test(value.data)))
    throw new PolicyFileError(`registry value ${JSON.stringify(name)} contains a line break or NUL`);
  return value.type === 'dword'
    ? `${quote(name)}=dword:${value.data.toString(16).padStart(8, '0')}`
    : `${quote(name)}=${quote(value.data)}`;
}

/**
 * Text of a .reg file that sets `values` under `key`; with `replaceKey` (the default) the key is
 * deleted first so values dropped from the policy disappear too. `comment` lines start with ';'.
 */
export function writeRegText(
  key: string,
  values: Map<string, RegValue>,
  comment: string[] = [],
  { replaceKey = true }: { replaceKey?: boolean } = {},
): string {
  const lines = [HEADER, '', ...comment.map((c) => `; ${c}`), ...(replaceKey ? [`[-${key}]`, ''] : []), `[${key}]`];
  for (const [name, value] of values) lines.push(formatValue(name, value));
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Encodes .reg text the way regedit writes it: UTF-16LE with BOM. */
export function encodeReg(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

export function decodeReg(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes);
  if (buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return buf.subarray(3).toString('utf8');
  return buf.toString('utf8');
}

function unquote(s: string, line: number): { text: string; rest: string } {
  if (!s.startsWith('"')) throw new PolicyFileError(`line ${line}: expected a quoted string`);
  let out = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      out += s[i + 1] ?? '';
      i++;
    } else if (c === '"') return { text: out, rest: s.slice(i + 1) };
    else out += c;
  }
  throw new PolicyFileError(`line ${line}: unterminated string`);
}

/** Parses the subset of .reg syntax the writer uses: keys, key deletion, REG_SZ, REG_DWORD. */
export function parseReg(text: string): RegDocument {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== HEADER) throw new PolicyFileError(`not a .reg file: first line must be "${HEADER}"`);
  const doc: RegDocument = new Map();
  let current: Map<string, RegValue> | undefined;
  lines.slice(1).forEach((raw, i) => {
    const line = raw.trim();
    const n = i + 2;
    if (line === '' || line.startsWith(';')) return;
    const key = /^\[(-?)(.+)\]$/.exec(line);
    if (key) {
      const [, del, path = ''] = key;
      current = del ? undefined : new Map();
      doc.set(path, current ?? null);
      return;
    }
    if (!current) throw new PolicyFileError(`line ${n}: value outside a key`);
    const { text: name, rest } = unquote(line, n);
    if (!rest.startsWith('=')) throw new PolicyFileError(`line ${n}: expected "="`);
    const data = rest.slice(1);
    const dword = /^dword:([0-9a-fA-F]{8})$/.exec(data);
    if (dword) current.set(name, { type: 'dword', data: parseInt(dword[1] ?? '0', 16) });
    else if (data.startsWith('"')) {
      const str = unquote(data, n);
      if (str.rest.trim() !== '') throw new PolicyFileError(`line ${n}: text after the string`);
      current.set(name, { type: 'sz', data: str.text });
    } else throw new PolicyFileError(`line ${n}: unsupported value type`);
  });
  return doc;
}

type SchemaNode = { type?: string; properties?: Record<string, SchemaNode> };

/**
 * Reads the values of one policy key back into JSON the way Chrome does: each value converted
 * to the type managed_schema.json declares (DWORD to boolean or integer, JSON text to object or
 * array). Values that do not convert are left out, as Chrome leaves them out.
 */
export function regValuesToPolicy(values: Map<string, RegValue>, schema: SchemaNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of values) {
    const type = schema.properties?.[name]?.type;
    if (type === 'boolean' && value.type === 'dword') out[name] = value.data !== 0;
    else if (type === 'integer' && value.type === 'dword') out[name] = value.data | 0;
    else if (type === 'string' && value.type === 'sz') out[name] = value.data;
    else if ((type === 'object' || type === 'array') && value.type === 'sz') {
      try {
        const parsed: unknown = JSON.parse(value.data);
        if (type === 'array' ? Array.isArray(parsed) : typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
          out[name] = parsed;
      } catch {
        // Chrome drops a value that is not valid JSON; so do we.
      }
    }
  }
  return out;
}
