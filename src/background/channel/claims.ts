/**
 * Membership sync (members.ts) needs to know which devices a key-package claim returned; the
 * engine does not say. The engine's transport is wrapped to record the last claim.
 */
import type { Transport } from './index';

let lastClaim: Set<string> | null = null;

export function recordingClaims(transport: Transport): Transport {
  return {
    ...transport,
    claimKeyPackages: async (domain, target) => {
      const claimed = await transport.claimKeyPackages(domain, target);
      lastClaim = new Set(claimed.map((c) => `${c.certificate.deviceId}@${c.certificate.orgDomain}`));
      return claimed;
    },
  };
}

/** Forgets the last claim; `takeClaim` then returns what a claim made after this returned. */
export function resetClaim(): void {
  lastClaim = null;
}

export function takeClaim(): Set<string> | null {
  return lastClaim;
}
