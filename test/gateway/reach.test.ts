/**
 * A partner gateway reaching where it does not belong (issue 14, item 8), against real gateway
 * processes: Globex signs federation requests with its real org key, as a hostile operator
 * could, and tries to deliver into Acme's internal conversation, to Acme devices that are not
 * in its conversation, and to forge receipts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPartners, newDevice, b64, type GatewayHandle, type TestDevice } from './helpers';
import { buildSigned } from './fake-peer';
import type { InboxEntry, PushEvent } from '../../src/wire/protocol';

let acme: GatewayHandle;
let globex: GatewayHandle;
let alice: TestDevice; // acme
let bob: TestDevice; // acme
let gina: TestDevice; // globex

beforeAll(async () => {
  [acme, globex] = await startPartners('acme.example', 'globex.example');
  [alice, bob, gina] = await Promise.all([
    newDevice(acme, 'alice', 'Alice'),
    newDevice(acme, 'bob', 'Bob'),
    newDevice(globex, 'gina', 'Gina'),
  ]);
  // Acme's internal conversation, hosted by Acme
  await alice.client.createConversation('internal-1');
  await alice.client.send({
    conversationId: 'internal-1',
    messageId: 'i0',
    kind: 'commit',
    epoch: 0,
    payload: b64('commit'),
    members: [alice.address, bob.address],
  });
  await alice.client.send({ conversationId: 'internal-1', messageId: 'i1', kind: 'application', epoch: 1, payload: b64('internal') });
});
afterAll(async () => Promise.all([acme?.stop(), globex?.stop()]));

/** What a gateway answers to a federation POST, as far as these tests read it. */
type FedReply = { stored?: number; error?: { code?: string; message?: string } };

/** A federation request signed with `from`'s real org key. */
async function fedPost(
  from: GatewayHandle,
  to: GatewayHandle,
  path: string,
  payload: unknown,
): Promise<{ status: number; body: FedReply }> {
  const { body, headers } = await buildSigned(from, to.domain, path, payload);
  const r = await fetch(to.url + path, { method: 'POST', body, headers });
  return { status: r.status, body: await r.json() };
}

const deliver = (over: Record<string, unknown>) => ({
  type: 'deliver',
  conversationId: 'gx-1',
  hub: 'globex.example',
  seq: 1,
  messageId: 'x',
  kind: 'application',
  epoch: 1,
  sender: gina.address,
  payload: b64('x'),
  recipients: [bob.certificate.deviceId],
  ...over,
});
const inbox = async (d: TestDevice): Promise<InboxEntry[]> => (await d.client.fetchInbox(0, 500)).entries;
const nextEntry = (d: TestDevice, pred: (e: InboxEntry) => boolean) =>
  new Promise<InboxEntry>((resolve) => {
    const off = d.client.onEvent((e: PushEvent) => {
      if (e.event === 'inbox' && pred(e.entry)) {
        off();
        resolve(e.entry);
      }
    });
  });

describe('a partner gateway reaching where it does not belong', () => {
  it("cannot deliver into a conversation hosted here, even as a spoofed member: refused, Bob's inbox does not take it", async () => {
    for (const kind of ['application', 'commit', 'welcome'] as const) {
      const r = await fedPost(globex, acme, '/v1/fed/deliver', {
        items: [deliver({ conversationId: 'internal-1', seq: 2, messageId: `spoof-${kind}`, kind, sender: alice.address })],
      });
      expect([r.status, r.body.error?.code], kind).toEqual([403, 'forbidden']);
    }
    const ids = (await inbox(bob)).map((e) => e.messageId);
    expect(ids).toContain('i1');
    expect(ids.filter((id) => id.startsWith('spoof'))).toEqual([]);
  });

  it('reaches a device in its own conversation only after a Welcome made it a member there', async () => {
    // not welcomed: accepted from the peer's point of view (nothing to retry), stored for nobody
    let r = await fedPost(globex, acme, '/v1/fed/deliver', {
      items: [deliver({ seq: 1, messageId: 'g1', kind: 'commit' }), deliver({ seq: 2, messageId: 'g2' })],
    });
    expect([r.status, r.body.stored]).toEqual([200, 0]);
    r = await fedPost(globex, acme, '/v1/fed/deliver', {
      items: [deliver({ seq: 3, messageId: 'g3', kind: 'welcome' }), deliver({ seq: 4, messageId: 'g4' })],
    });
    expect([r.status, r.body.stored]).toEqual([200, 2]);
    // alice was never welcomed into gx-1
    r = await fedPost(globex, acme, '/v1/fed/deliver', {
      items: [deliver({ seq: 5, messageId: 'g5', recipients: [alice.certificate.deviceId, bob.certificate.deviceId] })],
    });
    expect([r.status, r.body.stored]).toEqual([200, 1]);
    expect((await inbox(bob)).filter((e) => e.conversationId === 'gx-1').map((e) => e.messageId)).toEqual(['g3', 'g4', 'g5']);
    expect((await inbox(alice)).filter((e) => e.conversationId === 'gx-1')).toEqual([]);
  });

  it("learns membership from a local device's own sends to the partner's hub too (conversations from before the upgrade)", async () => {
    // a real Globex-hosted conversation with bob in it, whose Welcome bob's gateway never saw
    await gina.client.createConversation('gx-old');
    await gina.client.send({
      conversationId: 'gx-old',
      messageId: 'o0',
      kind: 'commit',
      epoch: 0,
      payload: b64('commit'),
      members: [gina.address, bob.address],
    });
    await gina.client.send({ conversationId: 'gx-old', messageId: 'o1', kind: 'application', epoch: 1, payload: b64('before') });
    const mine = await bob.client.send({
      conversationId: 'gx-old',
      hub: 'globex.example',
      messageId: 'b1',
      kind: 'application',
      epoch: 1,
      payload: b64('from bob'),
    });
    expect(mine).toMatchObject({ hub: 'globex.example', duplicate: false });
    const after = nextEntry(bob, (e) => e.messageId === 'o2');
    await gina.client.send({ conversationId: 'gx-old', messageId: 'o2', kind: 'application', epoch: 1, payload: b64('after') });
    expect((await after).hub).toBe('globex.example');
    // 'before' went to Globex's outbox ahead of bob's send: it may or may not have reached him; 'after' must
  });

  it("cannot commit Acme's own people out of (or into) an Acme-hosted conversation in its device's name", async () => {
    await alice.client.createConversation('deal-2');
    await alice.client.send({
      conversationId: 'deal-2',
      messageId: 'e0',
      kind: 'commit',
      epoch: 0,
      payload: b64('commit'),
      members: [alice.address, gina.address],
    });
    const submit = (members: string[], messageId: string) =>
      fedPost(globex, acme, '/v1/fed/submit', {
        sender: gina.address,
        params: { conversationId: 'deal-2', messageId, kind: 'commit', epoch: 1, payload: b64('not MLS at all'), members },
      });
    expect((await submit([gina.address], 'evil-1')).status).toBe(403);
    expect((await submit([alice.address, bob.address, gina.address], 'evil-2')).status).toBe(403);
    // alice still commits at the epoch the refused ones aimed at
    expect(
      await alice.client.send({
        conversationId: 'deal-2',
        messageId: 'e1',
        kind: 'commit',
        epoch: 1,
        payload: b64('commit'),
        members: [alice.address, gina.address],
      }),
    ).toMatchObject({ seq: 2, duplicate: false });
    // the hub cannot read commits: garbage that leaves Acme's people in place is taken, and the
    // members drop it (test/unit/channel/resilience.test.ts)
    const junk = await fedPost(globex, acme, '/v1/fed/submit', {
      sender: gina.address,
      params: {
        conversationId: 'deal-2',
        messageId: 'junk',
        kind: 'commit',
        epoch: 2,
        payload: b64('not MLS at all'),
        members: [alice.address, gina.address],
      },
    });
    expect(junk.status).toBe(200);
  });

  it("forges no receipt for a conversation it is not in; a member's real receipt still arrives", async () => {
    const receipt = (over: Record<string, unknown>) => ({
      type: 'receipt',
      conversationId: 'internal-1',
      hub: 'acme.example',
      seq: 2,
      messageId: 'i1',
      sender: alice.address,
      status: 'delivered',
      by: gina.address,
      messageIds: ['i1'],
      ...over,
    });
    const r = await fedPost(globex, acme, '/v1/fed/deliver', {
      items: [
        receipt({}),
        // a conversation Globex claims to host, which alice never took part in
        receipt({ conversationId: 'gx-9', hub: 'globex.example', status: 'partner', by: 'globex.example' }),
      ],
    });
    expect([r.status, r.body.stored]).toEqual([200, 0]);
    expect((await inbox(alice)).filter((e) => e.kind === 'receipt' && ['internal-1', 'gx-9'].includes(e.conversationId))).toEqual([]);

    // a conversation with gina in it: her gateway's receipt is taken
    await alice.client.createConversation('deal-1');
    await alice.client.send({
      conversationId: 'deal-1',
      messageId: 'd0',
      kind: 'commit',
      epoch: 0,
      payload: b64('commit'),
      members: [alice.address, gina.address],
    });
    const welcome = nextEntry(gina, (e) => e.kind === 'welcome');
    await alice.client.send({
      conversationId: 'deal-1',
      messageId: 'd1',
      kind: 'welcome',
      epoch: 1,
      payload: b64('welcome'),
      recipients: [gina.address],
    });
    const toGina = nextEntry(gina, (e) => e.messageId === 'd2');
    const delivered = nextEntry(alice, (e) => e.kind === 'receipt' && e.receipt?.status === 'delivered' && e.messageId === 'd2');
    await welcome;
    await alice.client.send({ conversationId: 'deal-1', messageId: 'd2', kind: 'application', epoch: 1, payload: b64('hello gina') });
    await gina.client.ack([(await toGina).id]);
    expect((await delivered).receipt).toMatchObject({ status: 'delivered', by: gina.address, messageIds: ['d2'] });
  });
});
