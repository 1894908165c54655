/**
 * The DNR priority ladder, lowest first (docs/blocking.md). The compiler checks list rules stay
 * below the allowlist; the background builds its dynamic rules on the upper rungs.
 * - list rules: up to about 1.1 million (AdGuard's highest);
 * - Kontor's allowlist (static, always on): must beat every list rule;
 * - a site the employee paused: must beat the allowlist and every list rule;
 * - the organisation's block list: beats an employee's pause;
 * - the organisation's allow list: beats everything.
 */
export const PRIORITY = {
  allowlist: 10_000_000,
  pause: 20_000_000,
  policyBlock: 30_000_000,
  policyAllow: 40_000_000,
} as const;
