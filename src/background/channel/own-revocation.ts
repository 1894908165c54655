/** The statement with which a device holding the employee identity key revokes a sibling device (issue 15). */
import { REVOCATION_TYPE, signRevocation } from '../../wire/identity';
import { toBase64 } from '../../wire/bytes';
import { IdentityError } from './identity';
import { signWithSignatureKey } from './mls';
import type { EngineContext } from './context';

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
