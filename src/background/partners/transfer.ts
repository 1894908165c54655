/**
 * Partners passed on by the linking device (issue 15; docs/channel.md "Linking a device"): the
 * new browser learns the pins its sibling holds, so it accepts the Welcome of a conversation
 * with them. This browser's own knowledge always wins: its policy decides about the domains it
 * names (and whether employees may add partners at all), and a pin it already holds is never
 * replaced by a different one; the difference is reported so the side panel can warn.
 */
import { normalizeFingerprint } from '../../wire/manifest';
import type { TransferredPartner } from '../../wire/link';
import type { RecordValue } from '../storage';

type Directory = RecordValue<'directory'>;

export interface PinConflict {
  domain: string;
  /** the pin this browser keeps */
  pinned: string;
  /** the different pin the linking device sent */
  transferred: string;
}

export interface TransferPlan {
  directory: Directory;
  /** domains now pinned here because the linking device knew them */
  added: string[];
  conflicts: PinConflict[];
}

/**
 * What this browser's directory becomes with `transferred` merged in. `policyPins` maps each
 * domain this browser's policy names to the key it pins there (undefined: listed, not pinned).
 */
export function planTransfer(
  current: Directory,
  transferred: readonly TransferredPartner[],
  policyPins: ReadonlyMap<string, string | undefined>,
  allowUserPartners: boolean,
  now: number,
): TransferPlan {
  const directory: Directory = { user: [...current.user], pins: { ...current.pins }, warnings: { ...current.warnings } };
  const added: string[] = [];
  const conflicts: PinConflict[] = [];
  for (const p of transferred) {
    const own = policyPins.get(p.domain) ?? directory.pins[p.domain] ?? null;
    if (own !== null) {
      if (normalizeFingerprint(own) !== normalizeFingerprint(p.orgKey))
        conflicts.push({ domain: p.domain, pinned: own, transferred: p.orgKey });
      continue;
    }
    const listed = policyPins.has(p.domain);
    // the organisation manages the partner list alone: only the partners it names are taken
    if (!listed && !allowUserPartners) continue;
    if (!listed && !directory.user.some((u) => u.domain === p.domain)) directory.user.push({ domain: p.domain, addedAt: now });
    directory.pins[p.domain] = p.orgKey;
    added.push(p.domain);
  }
  return { directory, added, conflicts };
}
