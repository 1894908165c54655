/**
 * Runs one membership commit to completion: finish an older pending commit first, compose
 * this one, submit it; if another member's commit won the epoch, take that in (`sync`) and
 * compose again, at most `maxRetries` more times.
 */
import { TransportError } from './transport';
import { prepareCommit, submitPending, openPending, writeConversation, type CommitOp, type PrepareResult } from './commits';
import type { EngineContext } from './context';

export interface AddResult {
  added: PrepareResult['adding'];
  rejected: PrepareResult['rejected'];
  held: PrepareResult['held'];
}

export async function runCommit(
  ctx: EngineContext,
  conversationId: string,
  op: CommitOp,
  maxRetries: number,
  sync: () => Promise<unknown>,
): Promise<AddResult> {
  let first: PrepareResult | undefined;
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    const outcome = await ctx.lock.run(conversationId, async () => {
      const before = await submitPending(ctx, conversationId); // finish an older one first
      if (before === 'offline') throw new TransportError('offline', 'gateway unreachable');
      if (before === 'conflict') return 'conflict';
      if (before === 'retry') await clearRetry(ctx, conversationId);
      const prep = await prepareCommit(ctx, conversationId, op);
      first ??= prep;
      if (!prep.prepared) return 'done';
      return submitPending(ctx, conversationId);
    });
    if (outcome === 'offline') throw new TransportError('offline', 'commit stays pending until the gateway is reachable');
    if (outcome !== 'conflict') {
      for (const error of first?.rejected ?? []) ctx.emit({ type: 'warning', conversationId, error });
      return { added: first?.adding ?? [], rejected: first?.rejected ?? [], held: first?.held ?? [] };
    }
    // another member's commit won this epoch: take it in, then compose ours again
    await sync();
    await clearRetry(ctx, conversationId);
  }
  throw new TransportError('epoch_conflict', `commit lost the epoch race ${maxRetries + 1} times`);
}

/** Drops a pending commit that lost its epoch, so the next one is composed afresh. */
export async function clearRetry(ctx: EngineContext, conversationId: string): Promise<void> {
  const rec = await ctx.db.get('conversations', conversationId);
  if (rec?.pending && (await openPending(ctx, rec))?.stage === 'retry') await writeConversation(ctx, rec, null, null);
}

/** The operation of a pending commit that lost its epoch, if that is what is pending. */
export async function retryOpOf(ctx: EngineContext, conversationId: string): Promise<CommitOp | null> {
  const rec = (await ctx.db.get('conversations', conversationId))!;
  const p = await openPending(ctx, rec);
  return p?.stage === 'retry' ? p.op : null;
}

/** Claims key packages for `targets` and keeps those of the devices `keep` wants, with the domain each was claimed at. */
export async function claimFor(
  ctx: EngineContext,
  targets: { domain: string; contact?: string; employee?: string }[],
  keep: (address: string) => boolean,
): Promise<{ keyPackage: string; domain: string }[]> {
  const out: { keyPackage: string; domain: string }[] = [];
  for (const t of targets) {
    const claimed = await ctx.transport.claimKeyPackages(t.domain, { contact: t.contact, employee: t.employee });
    for (const c of claimed)
      if (keep(`${c.certificate.deviceId}@${c.certificate.orgDomain}`)) out.push({ keyPackage: c.keyPackage, domain: t.domain });
  }
  return out;
}
