/**
 * The linking exchange's crypto against fixed vectors (test/vectors/link.json, RFC 7748 X25519
 * keys) and the link mailbox's expiry with a fixed clock (the gateway tier, test/gateway/
 * link.test.ts, runs everything else against a real gateway).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromUtf8, toBase64 } from '../../src/wire/bytes';
import { sign, verify } from '../../src/wire/ed25519';
import {
  deriveLinkKeys,
  linkCommitment,
  linkKeysFromSecret,
  linkLocator,
  linkProofTranscript,
  linkTranscript,
  normalizeLinkCode,
  openLink,
  sealLink,
  type LinkTranscript,
} from '../../src/wire/link';
import { LINK_LIMITS, LinkMailbox, partyA, partyB } from '../../src/gateway/link';
import { RateLimiter } from '../../src/gateway/ratelimit';
import { SqliteStore } from '../../src/gateway/store/sqlite';
import { importX25519Private } from '../support/vectors';
import { keyPairFromSeed, seedFromHex } from '../support/keys';
import { root } from '../support/paths';

const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

const vec = JSON.parse(readFileSync(path.join(root, 'test/vectors/link.json'), 'utf8')) as {
  rfc7748: { aPrivateHex: string; bPrivateHex: string; aPublicHex: string; sharedHex: string };
  code: string;
  locator: string;
  transcript: LinkTranscript;
  transcriptString: string;
  sas: string;
  box: { label: string; ivHex: string; value: unknown; sealedToB: string };
  proofDevice: {
    input: { domain: string; sessionId: string; devicePublicKey: string; mlsSignatureKey: string };
    signingString: string;
    signature: string;
  };
};

describe('linking crypto (link.json)', () => {
  it('reproduces the locator, commitment, transcript and SAS; A and B derive the same keys from the RFC 7748 secret', async () => {
    expect(await linkLocator(vec.code)).toBe(vec.locator);
    // typed in lower case with look-alikes, it is the same code
    expect(await linkLocator('k7m2q 9xrtv')).toBe(vec.locator);
    expect(await linkCommitment(vec.transcript.bKey)).toBe(vec.transcript.commitment);
    expect(fromUtf8(linkTranscript(vec.transcript))).toBe(vec.transcriptString);
    const a = await deriveLinkKeys(await importX25519Private(vec.rfc7748.aPrivateHex), vec.transcript.bKey, vec.transcript);
    const b = await deriveLinkKeys(await importX25519Private(vec.rfc7748.bPrivateHex), vec.transcript.aKey, vec.transcript);
    const fromSecret = await linkKeysFromSecret(fromHex(vec.rfc7748.sharedHex), vec.transcript);
    expect([a.sas, b.sas, fromSecret.sas]).toEqual([vec.sas, vec.sas, vec.sas]);
    expect(await sealLink(a.toB, vec.transcript.sessionId, vec.box.label, vec.box.value, fromHex(vec.box.ivHex))).toBe(vec.box.sealedToB);
    expect(await openLink(b.toB, vec.transcript.sessionId, vec.box.label, vec.box.sealedToB)).toEqual(vec.box.value);
  });

  it('another key, transcript, label or a flipped bit is refused: the SAS changes or the box does not open', async () => {
    const other = await deriveLinkKeys(
      await importX25519Private(vec.rfc7748.aPrivateHex),
      toBase64(fromHex(vec.rfc7748.aPublicHex)),
      vec.transcript,
    );
    expect(other.sas).not.toBe(vec.sas);
    const moved = await linkKeysFromSecret(fromHex(vec.rfc7748.sharedHex), { ...vec.transcript, domain: 'acme.example' });
    expect(moved.sas).not.toBe(vec.sas);
    const b = await linkKeysFromSecret(fromHex(vec.rfc7748.sharedHex), vec.transcript);
    await expect(openLink(b.toB, vec.transcript.sessionId, 'grant', vec.box.sealedToB)).rejects.toMatchObject({ code: 'tampered' });
    await expect(openLink(b.toA, vec.transcript.sessionId, vec.box.label, vec.box.sealedToB)).rejects.toMatchObject({ code: 'tampered' });
    const flipped = Buffer.from(vec.box.sealedToB, 'base64');
    flipped[20]! ^= 1;
    await expect(openLink(b.toB, vec.transcript.sessionId, vec.box.label, flipped.toString('base64'))).rejects.toMatchObject({
      code: 'tampered',
    });
  });

  it("B's proof strings are the vector's, and the vector's signature verifies", async () => {
    const p = vec.proofDevice;
    const bytes = linkProofTranscript('device', p.input);
    expect(fromUtf8(bytes)).toBe(p.signingString);
    const device = await keyPairFromSeed(
      seedFromHex(
        (JSON.parse(readFileSync(path.join(root, 'test/vectors/keys.json'), 'utf8')) as { vectors: { seed: string }[] }).vectors[2]!.seed,
      ),
    );
    expect(await sign(device.privateKey, bytes)).toBe(p.signature);
    expect(await verify(device.publicKeyB64, p.signature, bytes)).toBe(true);
  });

  it('normalizes typed codes and refuses what cannot be one', () => {
    expect(normalizeLinkCode(' k7m2q-9xrtv ')).toBe('K7M2Q9XRTV');
    expect(normalizeLinkCode('K7M2Q-9XRT')).toBeNull();
    expect(normalizeLinkCode('K7M2Q-9XRT!')).toBeNull();
  });
});

describe('link mailbox (gateway, fixed clock)', () => {
  it('an expired session is gone for both sides; the code cannot be joined', async () => {
    let now = 1_000_000;
    const dir = mkdtempSync(path.join(tmpdir(), 'kontor-link-'));
    const store = new SqliteStore(path.join(dir, 'db.sqlite'));
    const limit = (l: { rate: number; burst: number }) => new RateLimiter(l.rate, l.burst);
    const box = new LinkMailbox(
      store,
      { opens: limit(LINK_LIMITS.opens), misses: limit(LINK_LIMITS.misses), certs: limit(LINK_LIMITS.certs) },
      () => now,
    );
    try {
      const locator = await linkLocator('K7M2Q-9XRTV');
      const { sessionId } = await box.open(locator, vec.transcript.commitment, '192.0.2.1');
      now += 10 * 60_000 + 1;
      await expect(box.join(locator, 'dA')).rejects.toMatchObject({ code: 'not_found' });
      await expect(box.read(sessionId, partyB('192.0.2.1'), -1)).rejects.toMatchObject({ code: 'not_found' });
      // a fresh session under the same code opens again once the old one expired
      const again = await box.open(locator, vec.transcript.commitment, '192.0.2.1');
      await box.join(locator, 'dA');
      expect(await box.post(again.sessionId, partyA('dA'), 'aGVsbG8=')).toEqual({ index: 0 });
      await expect(box.read(again.sessionId, partyA('dOther'), -1)).rejects.toMatchObject({ code: 'not_found' });
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
