/**
 * No silent additions (issue 15). A device whose credential verifies may still be one the own
 * or the partner's gateway made: the gateway holds the org key. So a device joins a
 * conversation on its own only if it chains to an employee identity the conversation already
 * knows for that employee, or belongs to an employee the conversation has not seen yet (a new
 * colleague in the contact, shown as joined). Everything else is held, shown with its reason,
 * and added only when a member accepts it:
 *   - 'org_only': certified by the org alone ("added by Acme's gateway only");
 *   - 'identity_changed': the org certified another identity key for a known employee (an
 *     identity reset, or a gateway minting one).
 */
import type { ClientState } from 'ts-mls';
import type { CheckedMember } from './credentials';
import { readChain } from './credentials';
import { members } from './mls';
import type { ConversationRecord } from './db';
import { personOf, type EngineContext, type Person } from './context';

export type HoldReason = 'org_only' | 'identity_changed';

export interface HeldDevice {
  address: string;
  person: Person;
  reason: HoldReason;
  /** the identity key the device chains to (null: none) */
  identityKey: string | null;
  keyPackage: string;
  domain: string;
  at: number;
}

export const heldAad = (id: string) => `conversation:${id}:held`;
export const employeeOf = (p: { employeeId: string; orgDomain: string }) => `${p.employeeId}@${p.orgDomain}`;

/** The identities the conversation knows: those it recorded and those of its current members. */
export function knownIdentities(rec: ConversationRecord, state: ClientState): Record<string, string> {
  const known: Record<string, string> = { ...(rec.identities ?? {}) };
  for (const m of members(state)) {
    const { certificate, chain } = readChain(m.leaf.credential); // verified when the leaf joined
    if (chain) known[employeeOf(certificate)] ??= chain.identity.identityKey;
  }
  return known;
}

/** Why a verified device must wait for a member, or null if it may join now. */
export function holdReason(checked: CheckedMember, known: Record<string, string>): HoldReason | null {
  if (!checked.identity) return 'org_only';
  const had = known[employeeOf(checked.certificate)];
  if (had !== undefined && had !== checked.identity.key) return 'identity_changed';
  return null;
}

export async function readHeld(ctx: EngineContext, rec: ConversationRecord): Promise<HeldDevice[]> {
  return rec.held ? ((await ctx.ks.openJson(rec.held, heldAad(rec.id))) as HeldDevice[]) : [];
}

export function heldDevice(checked: CheckedMember, reason: HoldReason, k: { keyPackage: string; domain: string }, at: number): HeldDevice {
  return {
    address: personOf(checked.certificate).address,
    person: personOf(checked.certificate),
    reason,
    identityKey: checked.identity?.key ?? null,
    keyPackage: k.keyPackage,
    domain: k.domain,
    at,
  };
}

/** A member already in the tree as CheckedMember (ts-mls ran the credential check when it joined). */
export function unverifiedMember(state: ClientState, leafIndex: number): CheckedMember {
  const leaf = members(state).find((m) => m.leafIndex === leafIndex)!.leaf;
  const { certificate, chain } = readChain(leaf.credential);
  return {
    certificate,
    identity: chain ? { key: chain.identity.identityKey, issuedAt: chain.identity.issuedAt, linkedBy: chain.endorsement.linkedBy } : null,
  };
}
