/**
 * Admin commands, run against the same SQLite file as a live server (WAL allows it):
 *   enroll --employee ID --name "Full Name" [--ttl-hours 24]
 *   devices list [--employee ID] [--all] | devices revoke DEVICE_ID | devices revoke --employee ID (deprovision)
 *   reset-identity EMPLOYEE (revokes every device; the next enrollment certifies a new identity key)
 *   contacts add ID [--name NAME] [--member EMP]... | contacts list | contacts remove ID [--member EMP]...
 *   partners admit DOMAIN [--fingerprint FP] | partners approve DOMAIN | partners list | partners remove DOMAIN
 *   fingerprint
 * Common: --data DIR (or --domain D for the default data/D), --database postgres://… (KONTOR_DATABASE_URL)
 * for a gateway on PostgreSQL, --json for machine-readable output.
 */
import * as v from 'valibot';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { ConfigError, parseArgs } from './config';
import { openAdminStore } from './server';
import { announceRevocation } from './cluster-events';
import { issueEnrollCode } from './enroll';
import { loadOrCreateOrgKey, ORG_KEY_FILE } from './identity';
import { fingerprint } from '../wire/manifest';
import { DisplayName, Domain, Ident } from '../wire/schemas';
import type { Store } from './store/types';

export const ADMIN_COMMANDS = new Set(['enroll', 'devices', 'reset-identity', 'contacts', 'partners', 'fingerprint']);

const need = <S extends v.GenericSchema>(schema: S, value: unknown, what: string): v.InferOutput<S> => {
  if (!v.is(schema, value)) throw new ConfigError(`${what} is missing or invalid`);
  return value as v.InferOutput<S>;
};

export async function runAdmin(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<void> {
  const { opts, positionals } = parseArgs(argv, { repeatable: new Set(['member']), boolean: new Set(['json', 'all']) });
  const [cmd, sub, arg] = positionals;
  const env = process.env;
  const domain = (opts.domain as string | undefined) ?? env.KONTOR_DOMAIN;
  const dataDir = path.resolve((opts.data as string | undefined) ?? env.KONTOR_DATA ?? path.join('data', domain ?? ''));
  if (!domain && !opts.data && !env.KONTOR_DATA) throw new ConfigError('--data DIR or --domain DOMAIN is required');
  const json = opts.json === true;
  const store = await openAdminStore(dataDir, (opts.database as string | undefined) ?? env.KONTOR_DATABASE_URL ?? null);
  const emit = (obj: unknown, text: string) => out(json ? JSON.stringify(obj) : text);
  const natsUrl = (opts.nats as string | undefined) ?? env.KONTOR_NATS_URL;
  // instances cut revoked devices at their next database poll anyway; the stream spares them the wait
  const announce = async (ids: string[]): Promise<boolean> =>
    Boolean(natsUrl && domain && (await announceRevocation(natsUrl, domain, ids)));
  const members = ([] as string[]).concat((opts.member as string[] | undefined) ?? []).map((m) => need(Ident, m, '--member'));
  try {
    if (cmd === 'enroll') {
      const employee = need(Ident, opts.employee, '--employee');
      const name = need(DisplayName, opts.name, '--name');
      const hours = Number(opts['ttl-hours'] ?? 24);
      if (!(hours > 0 && hours <= 24 * 30)) throw new ConfigError('--ttl-hours must be in (0, 720]');
      const { code, expiresAt } = await issueEnrollCode(store, employee, name, hours * 3_600_000);
      emit(
        { code, employeeId: employee, expiresAt: new Date(expiresAt).toISOString() },
        `Enrollment code for ${employee} (${name}): ${code}\nValid once, until ${new Date(expiresAt).toISOString()}`,
      );
    } else if (cmd === 'devices' && sub === 'list') {
      const list = await store.listDevices({ employeeId: opts.employee as string | undefined, includeRevoked: opts.all === true });
      const rows = list.map((d) => ({
        deviceId: d.deviceId,
        employeeId: d.employeeId,
        displayName: d.displayName,
        createdAt: new Date(d.createdAt).toISOString(),
        revoked: d.revokedAt !== null,
      }));
      emit(
        rows,
        rows.map((r) => `${r.deviceId}\t${r.employeeId}\t${r.displayName}\t${r.createdAt}${r.revoked ? '\tREVOKED' : ''}`).join('\n') ||
          '(no devices)',
      );
    } else if (cmd === 'devices' && sub === 'revoke' && opts.employee !== undefined) {
      // deprovisioning: every device of the employee
      const employee = need(Ident, opts.employee, '--employee');
      const revoked = await revokeAll(store, employee);
      if (!revoked.length) throw new ConfigError(`${employee} has no active device`);
      const announced = await announce(revoked);
      emit({ revoked, announced }, `Revoked ${revoked.join(', ')}; members on both sides remove them from their conversations.`);
    } else if (cmd === 'devices' && sub === 'revoke') {
      const ok = await store.revokeDevice(need(Ident, arg, 'DEVICE_ID'), Date.now());
      if (!ok) throw new ConfigError(`no active device ${arg}`);
      const announced = await announce([arg!]);
      emit({ revoked: arg, announced }, `Revoked ${arg}; connected sessions close within a second.`);
    } else if (cmd === 'reset-identity') {
      // all devices lost: the old ones are revoked (signed statements both sides act on) and
      // the next enrollment may certify a new identity key, which members see as a reset
      const employee = need(Ident, sub, 'EMPLOYEE');
      const revoked = await revokeAll(store, employee);
      const had = await store.removeIdentity(employee);
      if (!had && !revoked.length) throw new ConfigError(`${employee} has no identity and no device`);
      const announced = await announce(revoked);
      emit(
        { reset: employee, revoked, announced },
        `Identity of ${employee} reset; revoked: ${revoked.join(', ') || 'none'}. Issue an enrollment code: partners and colleagues are warned of the reset and accept the new device before it joins.`,
      );
    } else if (cmd === 'contacts' && sub === 'add') {
      const id = need(Ident, arg, 'contact ID');
      const existing = await store.getContact(id);
      await store.upsertContact(id, need(DisplayName, opts.name ?? existing?.name ?? id, '--name'));
      await store.setContactMembers(id, members, []);
      const c = (await store.getContact(id))!;
      emit(c, `${c.id} (${c.name}): ${c.members.join(', ') || 'no members'}`);
    } else if (cmd === 'contacts' && sub === 'list') {
      const list = await store.listContacts();
      emit(list, list.map((c) => `${c.id}\t${c.name}\t${c.members.join(',')}`).join('\n') || '(no contacts)');
    } else if (cmd === 'contacts' && sub === 'remove') {
      const id = need(Ident, arg, 'contact ID');
      if (members.length) await store.setContactMembers(id, [], members);
      else if (!(await store.removeContact(id))) throw new ConfigError(`no contact ${id}`);
      emit({ removed: id, members }, members.length ? `Removed ${members.join(', ')} from ${id}` : `Removed contact ${id}`);
    } else if (cmd === 'partners' && (sub === 'admit' || sub === 'approve')) {
      const d = need(Domain, arg, 'DOMAIN');
      if (sub === 'approve' && (await store.getPartner(d))?.status !== 'pending') throw new ConfigError(`${d} is not awaiting approval`);
      const fp =
        opts.fingerprint === undefined
          ? null
          : need(v.pipe(v.string(), v.regex(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/)), opts.fingerprint, '--fingerprint');
      await store.setPartner(d, 'admitted', fp);
      emit({ admitted: d, fingerprint: fp }, `Admitted ${d}${fp ? ` pinned to ${fp}` : ''}`);
    } else if (cmd === 'partners' && sub === 'list') {
      const list = await store.listPartners();
      emit(list, list.map((p) => `${p.domain}\t${p.status}\t${p.fingerprint ?? '-'}`).join('\n') || '(no partners)');
    } else if (cmd === 'partners' && sub === 'remove') {
      const d = need(Domain, arg, 'DOMAIN');
      if (!(await store.removePartner(d))) throw new ConfigError(`no partner ${d}`);
      emit({ removed: d }, `Removed ${d}`);
    } else if (cmd === 'fingerprint') {
      const keyFile = (opts['org-key-file'] as string | undefined) ?? env.KONTOR_ORG_KEY_FILE ?? null;
      if (!existsSync(keyFile ?? path.join(dataDir, ORG_KEY_FILE))) throw new ConfigError('no org key yet: start the gateway once');
      const fp = await fingerprint((await loadOrCreateOrgKey(dataDir, keyFile)).key.publicKeyB64);
      emit({ fingerprint: fp }, fp);
    } else {
      throw new ConfigError(`unknown admin command: ${positionals.join(' ')}`);
    }
  } finally {
    store.close();
  }
}

/** Revokes every active device of an employee; returns their ids. */
async function revokeAll(store: Store, employeeId: string): Promise<string[]> {
  const now = Date.now();
  const revoked: string[] = [];
  for (const d of await store.listDevices({ employeeId })) if (await store.revokeDevice(d.deviceId, now)) revoked.push(d.deviceId);
  return revoked;
}
