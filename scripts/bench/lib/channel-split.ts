/**
 * Splits each end-to-end latency of the channel bench into stages (see channel-stages.ts for
 * how the frames and clock offsets are measured). All times here are monotonic ms.
 * - alice: Enter in her panel -> her worker sends the `send` frame (panel -> background
 *   message, persisting the outbox, MLS encrypt, persisting the advanced state);
 * - gateways: that frame sent -> the `inbox` push received by Gina's worker (Acme's gateway as
 *   hub, federation to Globex, Globex's push);
 * - gina: push received -> text in her panel's DOM (the reads and the decryption, the event to
 *   the panel, its render);
 * - gina_stored: push received -> her worker's `inbox.ack` frame sent. The message is shown
 *   while its IndexedDB write commits, and acknowledged after it: this ends after `gina` and is
 *   not part of the end-to-end figure.
 */
import type { Frame } from './channel-stages';

export interface Split {
  stages: Record<'alice' | 'gateways' | 'gina' | 'gina_stored', number[]>;
  /** messages whose frames were all found */
  matched: number;
  /** Alice's page clock offset minus Gina's: the split's stages add up to the end-to-end figure minus this */
  skew: number;
}

export function split(
  marks: { sentAt: number; arrived: number }[],
  offsets: { alice: number; gina: number },
  aliceFrames: Frame[],
  ginaFrames: Frame[],
): Split {
  const stages: Split['stages'] = { alice: [], gateways: [], gina: [], gina_stored: [] };
  const sends = aliceFrames.filter((f) => f.dir === 'sent' && f.method === 'send' && f.kind === 'application');
  const pushes = new Map(
    ginaFrames.filter((f) => f.dir === 'recv' && f.event === 'inbox' && f.kind === 'application').map((f) => [f.messageId, f]),
  );
  const acks = ginaFrames.filter((f) => f.dir === 'sent' && f.method === 'inbox.ack');
  let matched = 0;
  for (const m of marks) {
    const enter = m.sentAt - offsets.alice;
    const shown = m.arrived - offsets.gina;
    const sent = sends.find((f) => f.at >= enter);
    const push = sent && pushes.get(sent.messageId);
    const ack = push && acks.find((f) => f.at >= push.at);
    if (!sent || !push || !ack || push.at > shown) continue;
    matched++;
    stages.alice.push(sent.at - enter);
    stages.gateways.push(push.at - sent.at);
    stages.gina.push(shown - push.at);
    stages.gina_stored.push(ack.at - push.at);
  }
  return { stages, matched, skew: offsets.alice - offsets.gina };
}
