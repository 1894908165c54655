/**
 * The gateway path's ceiling for `npm run bench -- channel`: the same two gateway processes
 * the browsers use, a Node client on each side (Acme as the hub, Globex's member reached
 * through federation and Globex's push), one 1 KB application message at a time, timed from
 * the sender's `send` call to the receiver's inbox push, both in this process. The receiver
 * acknowledges each entry, as the extension does.
 */
import { randomBytes } from 'node:crypto';
import { newDevice, type GatewayHandle } from '../../../test/gateway/helpers';
import type { InboxEntry } from '../../../src/wire/protocol';

export async function gatewayPathMs(acme: GatewayHandle, globex: GatewayHandle, n: number): Promise<number[]> {
  const [a, g] = await Promise.all([newDevice(acme, 'bench-a', 'Bench A'), newDevice(globex, 'bench-g', 'Bench G')]);
  try {
    const waiting = new Map<string, (e: InboxEntry) => void>();
    g.client.onEvent((e) => {
      if (e.event !== 'inbox') return;
      void g.client.ack([e.entry.id]).catch(() => undefined);
      waiting.get(e.entry.messageId)?.(e.entry);
    });
    const arrival = (messageId: string) => new Promise<InboxEntry>((r) => waiting.set(messageId, r));
    const conversationId = `bench-ceiling-${randomBytes(4).toString('hex')}`;
    await a.client.createConversation(conversationId);
    const welcomed = arrival('w0');
    await a.client.send({
      conversationId,
      messageId: 'c0',
      kind: 'commit',
      epoch: 0,
      payload: 'Y29tbWl0',
      members: [a.address, g.address],
    });
    await a.client.send({ conversationId, messageId: 'w0', kind: 'welcome', epoch: 1, payload: 'd2VsY29tZQ==', recipients: [g.address] });
    await welcomed;
    const payload = randomBytes(1024).toString('base64');
    const times: number[] = [];
    for (let i = -10; i < n; i++) {
      const messageId = `m${i + 10}`;
      // the clock stops at the push, whether it comes before or after the hub's reply to `send`
      const arrived = arrival(messageId).then(() => performance.now());
      const t0 = performance.now();
      const [t1] = await Promise.all([arrived, a.client.send({ conversationId, messageId, kind: 'application', epoch: 1, payload })]);
      if (i >= 0) times.push(t1 - t0);
    }
    return times;
  } finally {
    a.client.close();
    g.client.close();
  }
}
