import { describe, it, expect, beforeEach } from 'vitest';
import { MemoryHub, makeOrg, makeDevice, orgKeys, texts, issue, type Org, type TestDevice } from '../../support/hub';
import {
  CredentialError,
  certificateCredential,
  chainCredential,
  checkCredential,
  checkMember,
  Keystore,
  SealError,
  decodePayload,
  encodePayload,
  PayloadError,
  textPayload,
} from '../../../src/background/channel';
import {
  generateKeyPackage,
  generateSignatureKeyPair,
  decodeKeyPackage,
  ownGeneration,
  deserializeState,
  clientConfig,
} from '../../../src/background/channel/mls';
import { openChannelDb } from '../../../src/background/channel/db';
import { toBase64, utf8 } from '../../../src/wire/bytes';
import { generateKeyPair } from '../../../src/wire/ed25519';
import type { ClaimedKeyPackage } from '../../../src/wire/protocol';
import { CHAIN_TYPE } from '../../../src/wire/identity';
import { endorse, issueIdentity } from '../../support/identities';

let hub: MemoryHub;
let acme: Org;
let globex: Org;
let keys: (d: string) => string | null;
let alice: TestDevice;
let bob: TestDevice;

beforeEach(async () => {
  hub = new MemoryHub();
  acme = await makeOrg('acme.example');
  globex = await makeOrg('globex.example');
  keys = orgKeys(acme, globex);
  alice = await makeDevice(hub, acme, 'alice', 'Alice Schmidt', keys);
  bob = await makeDevice(hub, globex, 'bob', 'Bob Meyer', keys);
  hub.contacts.set('globex.example/sales', ['bob']);
});

/** A key package as a malicious globex gateway would make it. */
async function forged(kind: 'wrong_org_key' | 'mismatched_key' | 'expired'): Promise<ClaimedKeyPackage> {
  const sig = await generateSignatureKeyPair();
  const dev = await generateKeyPair();
  const evilOrg = await makeOrg('globex.example');
  const signer = kind === 'wrong_org_key' ? evilOrg : globex;
  const cert = await issue(signer, {
    deviceId: `mallory-${kind}`,
    employeeId: 'bob',
    displayName: 'Bob Meyer',
    devicePublicKey: dev.publicKeyB64,
    // a real-looking certificate naming another signature key than the one in the leaf
    mlsSignatureKey: kind === 'mismatched_key' ? bob.cert.mlsSignatureKey : toBase64(sig.publicKey),
    ...(kind === 'expired' ? { issuedAt: '2020-01-01T00:00:00Z', expiresAt: '2020-02-01T00:00:00Z' } : {}),
  });
  const kp = await generateKeyPackage(certificateCredential(cert), sig);
  return { certificate: cert, keyPackage: toBase64(kp.message), lastResort: false };
}

describe('credential check', () => {
  for (const [kind, code] of [
    ['wrong_org_key', 'bad_signature'],
    ['mismatched_key', 'key_mismatch'],
    ['expired', 'expired'],
  ] as const) {
    it(`an injected key package (${kind}) is rejected with CredentialError ${code} and never joins`, async () => {
      const bad = await forged(kind);
      hub.injected.push(bad);
      const {
        conversationId: conv,
        added,
        rejected,
      } = await alice.engine.startConversation([{ domain: 'globex.example', contact: 'sales' }]);
      expect(added.map((a) => a.address)).toEqual([bob.address]);
      expect(rejected).toHaveLength(1);
      expect(rejected[0]).toBeInstanceOf(CredentialError);
      expect(rejected[0]!.code).toBe(code);
      expect(rejected[0]!.claimed?.displayName).toBe('Bob Meyer');
      expect(alice.events.some((e) => e.type === 'warning' && e.error instanceof CredentialError)).toBe(true);
      expect((await alice.engine.conversation(conv))!.members.map((m) => m.address).sort()).toEqual([alice.address, bob.address].sort());
      // and the direct check throws the same typed error
      const kp = decodeKeyPackage(Uint8Array.from(Buffer.from(bad.keyPackage, 'base64')));
      await expect(checkCredential(kp.leafNode.credential, kp.leafNode.signaturePublicKey, { orgKeyFor: keys })).rejects.toMatchObject({
        name: 'CredentialError',
        code,
      });
    });
  }

  it('a certificate of an org without a pinned key, or for another domain than claimed, is rejected', async () => {
    const unknown = await makeOrg('initech.example');
    const sig = await generateSignatureKeyPair();
    const cert = await issue(unknown, {
      deviceId: 'x1',
      employeeId: 'x',
      displayName: 'X',
      devicePublicKey: bob.cert.devicePublicKey,
      mlsSignatureKey: toBase64(sig.publicKey),
    });
    const kp = decodeKeyPackage((await generateKeyPackage(certificateCredential(cert), sig)).message);
    await expect(checkCredential(kp.leafNode.credential, kp.leafNode.signaturePublicKey, { orgKeyFor: keys })).rejects.toMatchObject({
      code: 'unknown_org',
    });
    const good = decodeKeyPackage(Uint8Array.from(Buffer.from(hub.devices.get(bob.address)!.kps[0]!, 'base64')));
    await expect(
      checkCredential(good.leafNode.credential, good.leafNode.signaturePublicKey, { orgKeyFor: keys, expectDomain: 'acme.example' }),
    ).rejects.toMatchObject({ code: 'wrong_domain' });
    await expect(checkCredential(good.leafNode.credential, good.leafNode.signaturePublicKey, { orgKeyFor: keys })).resolves.toMatchObject({
      deviceId: bob.cert.deviceId,
    });
  });

  it('key packages carry the chain org → identity → device as canonical JSON in a basic credential', async () => {
    const kp = decodeKeyPackage(Uint8Array.from(Buffer.from(hub.devices.get(bob.address)!.kps[0]!, 'base64')));
    expect(kp.leafNode.credential.credentialType).toBe('basic');
    const chain = JSON.parse(new TextDecoder().decode((kp.leafNode.credential as { identity: Uint8Array }).identity));
    expect(chain).toMatchObject({
      type: 'kontor.credential-chain',
      device: bob.cert,
      identity: { employeeId: 'bob' },
      endorsement: { deviceId: bob.cert.deviceId, linkedBy: null },
    });
    await expect(checkMember(kp.leafNode.credential, kp.leafNode.signaturePublicKey, { orgKeyFor: keys })).resolves.toMatchObject({
      identity: { key: chain.identity.identityKey },
    });
  });
});

describe('identity chains (issue 15: 1)', () => {
  it('a chain whose endorsement another key signed, or that names another device, is rejected as bad_identity', async () => {
    const sig = await generateSignatureKeyPair();
    const dev = await generateKeyPair();
    const cert = await issue(globex, {
      deviceId: 'bob-x',
      employeeId: 'bob',
      displayName: 'Bob Meyer',
      devicePublicKey: dev.publicKeyB64,
      mlsSignatureKey: toBase64(sig.publicKey),
    });
    const realId = await generateSignatureKeyPair();
    const fakeId = await generateSignatureKeyPair();
    const identity = await issueIdentity(globex, { employeeId: 'bob', displayName: 'Bob Meyer', identityKey: toBase64(realId.publicKey) });
    const good = {
      type: CHAIN_TYPE,
      v: 1 as const,
      device: cert,
      identity,
      endorsement: await endorse(realId, cert, identity.identityKey, null),
    };
    const kpOf = async (chain: typeof good) => decodeKeyPackage((await generateKeyPackage(chainCredential(chain), sig)).message).leafNode;
    const ok = await kpOf(good);
    await expect(checkMember(ok.credential, ok.signaturePublicKey, { orgKeyFor: keys })).resolves.toMatchObject({
      identity: { key: identity.identityKey, linkedBy: null },
    });
    const forgedEndorsement = await kpOf({ ...good, endorsement: await endorse(fakeId, cert, identity.identityKey, null) });
    await expect(
      checkMember(forgedEndorsement.credential, forgedEndorsement.signaturePublicKey, { orgKeyFor: keys }),
    ).rejects.toMatchObject({ code: 'bad_identity' });
    const other = await issue(globex, {
      deviceId: 'bob-y',
      employeeId: 'bob',
      displayName: 'Bob Meyer',
      devicePublicKey: dev.publicKeyB64,
      mlsSignatureKey: toBase64(sig.publicKey),
    });
    const borrowed = await kpOf({ ...good, device: other });
    await expect(checkMember(borrowed.credential, borrowed.signaturePublicKey, { orgKeyFor: keys })).rejects.toMatchObject({
      code: 'bad_identity',
    });
    // an identity certificate not signed by the pinned org key
    const rogueOrg = await makeOrg('globex.example');
    const rogue = await kpOf({
      ...good,
      identity: await issueIdentity(rogueOrg, { employeeId: 'bob', displayName: 'Bob Meyer', identityKey: toBase64(realId.publicKey) }),
    });
    await expect(checkMember(rogue.credential, rogue.signaturePublicKey, { orgKeyFor: keys })).rejects.toMatchObject({
      code: 'bad_identity',
    });
  });
});

describe('persistence', () => {
  it('state survives restarts mid-conversation: nothing lost or repeated, the ratchet never goes back', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    await alice.engine.sendText(conv, 'm1');
    await bob.engine.sync();
    const ks = await Keystore.open(alice.db);
    const genOf = async () => {
      const rec = (await alice.db.get('conversations', conv))!;
      return ownGeneration(
        deserializeState(await ks.open(rec.state, `conversation:${conv}:state`), clientConfig({ validateCredential: async () => true })),
      );
    };
    const g1 = await genOf();

    await alice.restart();
    await alice.engine.sendText(conv, 'm2');
    await alice.engine.sendText(conv, 'm3');
    expect(await genOf()).toBe(g1 + 2);

    // killed after encrypting, before the send got through: same ciphertext goes out after restart
    hub.devices.get(alice.address)!.sendBlocked = true;
    await alice.engine.sendText(conv, 'm4');
    await alice.restart();
    hub.devices.get(alice.address)!.sendBlocked = false;
    await alice.engine.flush();
    await alice.engine.flush(); // idempotent

    // bob is killed after persisting but before his acknowledgement reaches the gateway
    hub.devices.get(bob.address)!.ackBlocked = true;
    await expect(bob.engine.sync()).rejects.toThrow();
    await bob.restart();
    hub.devices.get(bob.address)!.ackBlocked = false;
    await bob.engine.sync();
    await bob.restart();
    await bob.engine.sync();
    expect(await texts(bob, conv)).toEqual(['m1', 'm2', 'm3', 'm4']);

    await bob.engine.sendText(conv, 'reply after restarts');
    await alice.engine.sync();
    expect(await texts(alice, conv)).toEqual(['m1', 'm2', 'm3', 'm4', 'reply after restarts']);
    expect(hub.log.filter((p) => p.kind === 'application')).toHaveLength(5);
  });

  it('sealed records are unreadable without the key: raw IndexedDB holds no plaintext', async () => {
    const { conversationId: conv } = await alice.engine.startConversation([{ domain: 'globex.example', employee: 'bob' }]);
    await bob.engine.sync();
    const secret = 'Quarterly price list: 42 EUR per unit';
    hub.devices.get(alice.address)!.sendBlocked = true; // keep it in the outbox too
    await alice.engine.sendText(conv, secret);
    hub.devices.get(alice.address)!.sendBlocked = false;
    await alice.engine.flush();
    await bob.engine.sync();
    expect(await texts(bob, conv)).toEqual([secret]);
    for (const d of [alice, bob]) {
      const raw: string[] = [];
      for (const store of ['identity', 'keyPackages', 'conversations', 'outbox', 'messages', 'seen'] as const) {
        for (const v of await d.db.getAll(store)) raw.push(dump(v));
      }
      const all = raw.join('\n');
      expect(all).not.toContain(secret);
      expect(all).not.toContain('Quarterly');
      expect(all.length).toBeGreaterThan(1000);
    }
    // the master key cannot be exported, and another keystore cannot open the records
    const key = (await alice.db.get('keys', 'master'))!;
    expect(key.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', key)).rejects.toThrow();
    const other = await Keystore.open(await openChannelDb(`other-${Math.random()}`));
    const msg = (await alice.db.getAll('messages')).find((m) => m.direction === 'out')!;
    await expect(other.open(msg.body, `message:${conv}:${msg.id}`)).rejects.toBeInstanceOf(SealError);
    // and a sealed value moved to another slot does not open either (AAD binds the slot)
    const ks = await Keystore.open(alice.db);
    await expect(ks.open(msg.body, `message:${conv}:other`)).rejects.toBeInstanceOf(SealError);
  });
});

describe('payload', () => {
  it('round-trips text, rejects unknown types, versions, oversize and invalid fields', () => {
    const p = textPayload('hi');
    expect(decodePayload(encodePayload(p))).toEqual(p);
    expect(() => decodePayload(utf8(JSON.stringify({ ...p, type: 'file' })))).toThrow(expect.objectContaining({ code: 'unknown_type' }));
    expect(() => decodePayload(utf8(JSON.stringify({ ...p, v: 2 })))).toThrow(expect.objectContaining({ code: 'unknown_version' }));
    expect(() => decodePayload(utf8(JSON.stringify({ ...p, extra: 1 })))).toThrow(expect.objectContaining({ code: 'invalid' }));
    expect(() => decodePayload(utf8('{not json'))).toThrow(expect.objectContaining({ code: 'not_json' }));
    expect(() => decodePayload(new Uint8Array(70_000))).toThrow(expect.objectContaining({ code: 'too_large' }));
    expect(() => encodePayload({ ...p, text: 'x'.repeat(20_000) })).toThrow(PayloadError);
  });
});

/** Everything a record holds, bytes as latin1, so a plaintext substring would show up. */
function dump(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
  if (Array.isArray(v)) return v.map(dump).join('|');
  if (v && typeof v === 'object' && !(v instanceof CryptoKey))
    return Object.entries(v)
      .map(([k, x]) => `${k}=${dump(x)}`)
      .join(';');
  return String(v);
}

describe('incoming credentials', () => {
  it('a Welcome from a group whose members do not verify is refused with CredentialError and nothing is joined', async () => {
    // a rogue device with a self-made acme certificate builds a group and adds bob directly
    const {
      createGroupState,
      commit: mlsCommit,
      generateKeyPackage: gen,
      generateSignatureKeyPair: sigGen,
      decodeKeyPackage: dec,
    } = await import('../../../src/background/channel/mls');
    const rogueOrg = await makeOrg('acme.example');
    const sig = await sigGen();
    const cert = await issue(rogueOrg, {
      deviceId: 'rogue',
      employeeId: 'alice',
      displayName: 'Alice Schmidt',
      devicePublicKey: alice.cert.devicePublicKey,
      mlsSignatureKey: toBase64(sig.publicKey),
    });
    hub.register(cert);
    const rogue = hub.transport('rogue@acme.example');
    await rogue.createConversation('c-rogue');
    const config = clientConfig({ validateCredential: async () => true }); // ts-mls's default: accepts anything
    const group = await createGroupState(utf8('c-rogue'), await gen(certificateCredential(cert), sig), config);
    const [claimed] = await rogue.claimKeyPackages('globex.example', { employee: 'bob' });
    const out = await mlsCommit(group, { add: [dec(Uint8Array.from(Buffer.from(claimed!.keyPackage, 'base64')))] });
    // bob's engine, unlike ts-mls's default, checks the rogue's credential in the Welcome's tree
    await rogue.send({
      conversationId: 'c-rogue',
      messageId: 'r1',
      kind: 'commit',
      epoch: 0,
      payload: toBase64(out.commit),
      members: ['rogue@acme.example', bob.address],
    });
    await rogue.send({
      conversationId: 'c-rogue',
      messageId: 'r2',
      kind: 'welcome',
      epoch: 1,
      payload: toBase64(out.welcome!),
      recipients: [bob.address],
    });
    await bob.engine.sync();
    expect(await bob.engine.conversation('c-rogue')).toBeNull();
    const warning = bob.events.find((e) => e.type === 'warning');
    expect(warning && warning.type === 'warning' && warning.error).toMatchObject({ name: 'CredentialError', code: 'bad_signature' });
    expect(hub.devices.get(bob.address)!.inbox).toHaveLength(0); // acknowledged once, not retried forever
  });
});
