/** Device labels (issue 15): whose label a conversation may show. */

/**
 * The label of the device that linked `p` in, if `p` is a device of this employee: a partner's
 * gateway chooses its own device ids and could otherwise borrow one of ours to show our label.
 */
export function linkedByLabel(
  p: { orgDomain: string; employeeId: string; linkedBy: string | null },
  self: { orgDomain: string; employeeId: string },
  labels: ReadonlyMap<string, string>,
): string | null {
  if (p.linkedBy === null || p.orgDomain !== self.orgDomain || p.employeeId !== self.employeeId) return null;
  return labels.get(p.linkedBy) ?? null;
}
