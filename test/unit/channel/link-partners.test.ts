/**
 * Partners passed on in the link grant (issue 15): what the new browser keeps of them, and that
 * the grant stays capped and validated.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { planTransfer } from '../../../src/background/partners/transfer';
import { encodeEnvelope, LINK, LinkGrant, linkKeysFromSecret, sealLink, type TransferredPartner } from '../../../src/wire/link';
import { fromBase64 } from '../../../src/wire/bytes';

const FP_A = '3f2a 91c0 0000 1111 2222 3333 4444 5555 6666 7777 8888 9999 aaaa bbbb cccc dddd';
const FP_B = '0000 0000 0000 1111 2222 3333 4444 5555 6666 7777 8888 9999 aaaa bbbb cccc dddd';
const empty = () => ({ user: [], pins: {}, warnings: {} });
const sent = (domain: string, orgKey = FP_A, source: 'policy' | 'user' = 'user'): TransferredPartner => ({ domain, orgKey, source });

describe('partners passed on by the linking device (issue 15)', () => {
  it('pins a partner this browser does not know and lists it as added here', () => {
    const plan = planTransfer(empty(), [sent('globex.example')], new Map(), true, 1000);
    expect(plan.added).toEqual(['globex.example']);
    expect(plan.conflicts).toEqual([]);
    expect(plan.directory.pins['globex.example']).toBe(FP_A);
    expect(plan.directory.user).toEqual([{ domain: 'globex.example', addedAt: 1000 }]);
  });

  it("this browser's policy wins: its pin stays, a different transferred one is reported, an equal one is silent", () => {
    const policy = new Map([['globex.example', FP_B.replace(/ /g, ':')]]);
    const plan = planTransfer(empty(), [sent('globex.example', FP_A, 'policy')], policy, true, 1000);
    expect(plan.added).toEqual([]);
    expect(plan.directory.pins).toEqual({});
    expect(plan.conflicts).toEqual([{ domain: 'globex.example', pinned: FP_B.replace(/ /g, ':'), transferred: FP_A }]);
    const same = planTransfer(empty(), [sent('globex.example', FP_B)], policy, true, 1000);
    expect(same.conflicts).toEqual([]);
    expect(same.added).toEqual([]);
  });

  it('a partner the policy lists without a key takes the pin, without becoming a partner added by hand', () => {
    const plan = planTransfer(empty(), [sent('globex.example')], new Map([['globex.example', undefined]]), false, 1000);
    expect(plan.added).toEqual(['globex.example']);
    expect(plan.directory.pins['globex.example']).toBe(FP_A);
    expect(plan.directory.user).toEqual([]);
  });

  it('never replaces an existing different pin: it stays, and the difference is reported', () => {
    const current = { user: [{ domain: 'globex.example', addedAt: 5 }], pins: { 'globex.example': FP_B }, warnings: {} };
    const plan = planTransfer(current, [sent('globex.example')], new Map(), true, 1000);
    expect(plan.directory.pins['globex.example']).toBe(FP_B);
    expect(plan.directory.user).toEqual(current.user);
    expect(plan.conflicts).toEqual([{ domain: 'globex.example', pinned: FP_B, transferred: FP_A }]);
    expect(plan.added).toEqual([]);
  });

  it('takes no unlisted partner where the organisation manages the partner list alone', () => {
    const plan = planTransfer(empty(), [sent('globex.example')], new Map(), false, 1000);
    expect(plan.added).toEqual([]);
    expect(plan.directory).toEqual(empty());
  });

  it('the grant validates the partners it carries and caps their number; at the cap a sealed grant still fits one message', async () => {
    const partners = LinkGrant.entries.partners;
    expect(v.is(partners, [sent('globex.example')])).toBe(true);
    expect(v.is(partners, undefined)).toBe(true);
    expect(v.is(partners, [sent('Globex.example')])).toBe(false);
    expect(v.is(partners, [sent('globex.example', 'x')])).toBe(false);
    expect(v.is(partners, [sent('globex.example', `${FP_A}<script>`)])).toBe(false);
    expect(v.is(partners, [{ ...sent('globex.example'), extra: 1 }])).toBe(false);
    expect(v.is(partners, [{ ...sent('globex.example'), source: 'link' }])).toBe(false);

    const label = 'a'.repeat(61);
    const longest = (i: number) => sent(`${label}.${label}.${label}.x${String(i).padStart(3, '0')}.example`.slice(-253), 'f'.repeat(200));
    const full = Array.from({ length: LINK.partners }, (_, i) => longest(i));
    expect(v.is(partners, full)).toBe(true);
    expect(v.is(partners, [...full, longest(999)])).toBe(false);
    const { toB } = await linkKeysFromSecret(new Uint8Array(32), {
      domain: 'acme.example',
      sessionId: '0'.repeat(32),
      commitment: 'c',
      aKey: 'a',
      bKey: 'b',
    });
    // room left for the certificate, identity certificate, endorsement and key pair (about 3 KB)
    const box = await sealLink(toB, '0'.repeat(32), 'grant', { partners: full, certificate: 'x'.repeat(16 * 1024) });
    expect(fromBase64(encodeEnvelope({ t: 'box', label: 'grant', box })).length).toBeLessThan(LINK.messageBytes);
  });
});
