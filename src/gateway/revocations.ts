/**
 * Signed revocation statements (issue 15). A device the admin revoked (`devices revoke`, or
 * every device of a deprovisioned employee) is described by a `kontor.device-revocation` with
 * `issuedBy: "org"`, signed with the org key, so clients on both sides remove it from their
 * conversations on their own word, not on this gateway's refusal to deliver. The statement is
 * derived from the device row (its revocation time) and signed when asked: Ed25519 signatures
 * are deterministic, so every answer carries the same bytes and nothing extra is stored. A
 * revocation an employee signed with their identity key (from a sibling device) is kept as it
 * was signed and handed out instead.
 */
import * as v from 'valibot';
import { DeviceRevocation, REVOCATION_TYPE, signRevocation, verifyRevocation } from '../wire/identity';
import { ApiError } from './errors';
import { sign } from '../wire/ed25519';
import { BoundedMap } from './bounded';
import type { Gateway } from './context';
import type { DeviceRecord } from './store/types';

/** meta key of the identity-signed statement for a device, if its employee revoked it */
export const identityRevocationKey = (deviceId: string) => `revocation:${deviceId}`;

const signed = new BoundedMap<string, DeviceRevocation>(10_000);

export async function orgRevocation(gw: Gateway, d: DeviceRecord & { revokedAt: number }): Promise<DeviceRevocation> {
  const key = `${gw.config.domain}/${d.deviceId}/${d.revokedAt}`;
  const hit = signed.get(key);
  if (hit) return hit;
  const statement = await signRevocation(
    {
      type: REVOCATION_TYPE,
      v: 1,
      employeeId: d.employeeId,
      orgDomain: gw.config.domain,
      deviceId: d.deviceId,
      issuedBy: 'org',
      revokedAt: new Date(d.revokedAt).toISOString(),
    },
    (b) => sign(gw.orgKey.privateKey, b),
  );
  signed.set(key, statement);
  return statement;
}

/** The statements for those of `deviceIds` (devices of this org) that are revoked; unknown and active ones are left out. */
export async function revocationsOf(gw: Gateway, deviceIds: string[]): Promise<DeviceRevocation[]> {
  const found = await Promise.all(
    [...new Set(deviceIds)].map(async (id) => {
      const d = await gw.store.getDevice(id);
      if (!d || d.revokedAt === null) return null;
      const own = await gw.store.getMeta(identityRevocationKey(id));
      if (own) {
        const parsed = v.safeParse(DeviceRevocation, JSON.parse(own));
        if (parsed.success && parsed.output.deviceId === id) return parsed.output;
      }
      return orgRevocation(gw, { ...d, revokedAt: d.revokedAt });
    }),
  );
  return found.filter((r): r is DeviceRevocation => r !== null);
}

/**
 * A device of an employee revokes a sibling with the statement the employee's identity key
 * signed. Only the same employee's other, active device, and only with a signature by the
 * identity this gateway certified for that employee: a session alone (a device the admin
 * enrolled without the identity) cannot revoke the devices that hold it.
 */
export async function revokeSibling(
  gw: Gateway,
  s: { deviceId: string; employeeId: string },
  statement: DeviceRevocation,
): Promise<{ revoked: string }> {
  if (statement.issuedBy !== 'identity' || statement.orgDomain !== gw.config.domain || statement.employeeId !== s.employeeId)
    throw new ApiError('forbidden', 'a device revokes only devices of its own employee, with their identity key');
  if (statement.deviceId === s.deviceId) throw new ApiError('bad_request', 'a device does not revoke itself');
  const target = await gw.store.getDevice(statement.deviceId);
  if (!target || target.employeeId !== s.employeeId) throw new ApiError('forbidden', 'not a device of this employee');
  const identity = await gw.store.getIdentity(s.employeeId);
  if (!identity || !(await verifyRevocation(statement, { identityKey: identity.identityKey, orgKey: null })))
    throw new ApiError('forbidden', "the statement is not signed by the employee's identity key");
  if (target.revokedAt !== null) return { revoked: target.deviceId };
  // stored first: from the moment it is revoked, the statement handed out is the employee's own
  await gw.store.setMeta(identityRevocationKey(target.deviceId), JSON.stringify(statement));
  await gw.store.revokeDevice(target.deviceId, Date.now());
  gw.log.info('device revoked by a sibling', { deviceId: target.deviceId, by: s.deviceId });
  return { revoked: target.deviceId };
}
