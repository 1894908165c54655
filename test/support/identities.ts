/**
 * Employee identities for tests (issue 15): identity certificates issued by a test org's key,
 * device endorsements signed by an identity key, and a stored chain for a device that another
 * device of the same employee linked.
 */
import {
  IDENTITY_CERT_TYPE,
  signIdentityCertificate,
  type CredentialChain,
  type DeviceEndorsement,
  type IdentityCertificate,
} from '../../src/wire/identity';
import type { Certificate } from '../../src/wire/certificate';
import { sign } from '../../src/wire/ed25519';
import type { SignatureKeyPair } from '../../src/background/channel/mls';
import { endorseDevice } from '../../src/background/channel/identity';
import type { ChannelDb } from '../../src/background/channel/db';
import type { Org } from './orgs';

/** An identity certificate for `p`, signed by `org`'s key (what the gateway issues at a first enrollment, or at a reset). */
export async function issueIdentity(
  org: Org,
  p: { employeeId: string; displayName: string; identityKey: string; issuedAt?: string; expiresAt?: string },
): Promise<IdentityCertificate> {
  return signIdentityCertificate(
    {
      type: IDENTITY_CERT_TYPE,
      v: 1,
      employeeId: p.employeeId,
      displayName: p.displayName,
      orgDomain: org.domain,
      identityKey: p.identityKey,
      issuedAt: p.issuedAt ?? new Date(Date.now() - 60_000).toISOString(),
      expiresAt: p.expiresAt ?? new Date(Date.now() + 86_400_000).toISOString(),
    },
    (d) => sign(org.key.privateKey, d),
  );
}

/** The identity key's endorsement of a device certificate. */
export function endorse(
  identity: SignatureKeyPair,
  cert: Certificate,
  identityKey: string,
  linkedBy: string | null,
): Promise<DeviceEndorsement> {
  return endorseDevice(identity.signKey, cert, identityKey, linkedBy);
}

/** Stores a device certificate with a chain made elsewhere (a linked device). */
export async function saveChain(db: ChannelDb, chain: CredentialChain): Promise<void> {
  const tx = db.transaction('identity', 'readwrite');
  const rec = await tx.store.get('device');
  if (!rec) throw new Error('no device identity');
  await tx.store.put({ ...rec, certificate: chain.device, chain }, 'device');
  await tx.done;
}
