/** A device holding the employee identity key revokes a sibling device (issue 15). */
import { REVOCATION_TYPE, signRevocation } from '../../wire/identity';
import { toBase64 } from '../../wire/bytes';
import { IdentityError } from './identity';
import { signWithSignatureKey } from './mls';
import { loadConversation, memberPeople, type EngineContext } from './context';
import type { DeviceRevocation } from '../../wire/identity';

export async function signOwnRevocation(ctx: EngineContext, deviceId: string) {
  const { chain, employeeKey } = ctx.identity;
  if (!chain || !employeeKey || toBase64(employeeKey.publicKey) !== chain.identity.identityKey) {
    throw new IdentityError('not_enrolled', 'this device does not hold the employee identity key');
  }
  if (deviceId === ctx.self.deviceId) throw new IdentityError('identity_mismatch', 'a device does not revoke itself');
  return signRevocation(
    {
      type: REVOCATION_TYPE,
      v: 1,
      employeeId: ctx.self.employeeId,
      orgDomain: ctx.self.orgDomain,
      deviceId,
      issuedBy: 'identity',
      revokedAt: ctx.now().toISOString(),
    },
    (d) => signWithSignatureKey(employeeKey.signKey, d),
  );
}

/**
 * Signs the statement, tells `announce` (the own gateway, which then refuses the device), and
 * hands it to `relayAndRemove` for every conversation the device is in; records it there so
 * the device is never added again. Returns those conversations.
 */
export async function revokeOwn(
  ctx: EngineContext,
  deviceId: string,
  announce: ((s: DeviceRevocation) => Promise<unknown>) | undefined,
  relayAndRemove: (conversationId: string, s: DeviceRevocation) => Promise<void>,
): Promise<string[]> {
  const statement = await signOwnRevocation(ctx, deviceId);
  await announce?.(statement);
  const address = `${deviceId}@${ctx.self.orgDomain}`;
  const done: string[] = [];
  for (const id of await ctx.db.getAllKeys('conversations')) {
    const loaded = await loadConversation(ctx, id);
    if (!loaded || !memberPeople(loaded.state).some((m) => m.address === address)) continue;
    await relayAndRemove(id, statement);
    const rec = (await ctx.db.get('conversations', id))!;
    await ctx.db.put('conversations', { ...rec, revoked: [...new Set([...(rec.revoked ?? []), address])] });
    done.push(id);
  }
  return done;
}
