/**
 * `npm run bench -- channel-core`: the MLS core in Node (ts-mls 1.6.4, ciphersuite 1) with
 * Kontor's credential check plugged in. Adds a member to a 50-member group (committer side,
 * an existing member processing the commit, the newcomer joining) and encrypt/decrypt per
 * message. The end-to-end browser benchmark is `channel`.
 */
import { CERT_TYPE, signCertificate } from '../../src/wire/certificate';
import { generateKeyPair } from '../../src/wire/ed25519';
import { toBase64, utf8 } from '../../src/wire/bytes';
import { certificateCredential, kontorAuthService } from '../../src/background/channel/credentials';
import {
  clientConfig,
  commit,
  createGroupState,
  decodeKeyPackage,
  encryptApplication,
  generateKeyPackage,
  generateSignatureKeyPair,
  joinFromWelcome,
  processIncoming,
  type GeneratedKeyPackage,
} from '../../src/background/channel/mls';

const SIZE = Number(process.env.GROUP_SIZE ?? 50);
const MESSAGES = 300;
const org = { domain: 'acme.example', key: await generateKeyPair() };
const config = clientConfig(kontorAuthService({ orgKeyFor: (d) => (d === org.domain ? org.key.publicKeyB64 : null) }).service);

async function device(i: number): Promise<GeneratedKeyPackage> {
  const sig = await generateSignatureKeyPair();
  const dev = await generateKeyPair();
  const cert = await signCertificate(
    {
      type: CERT_TYPE,
      v: 1,
      deviceId: `d${i}`,
      employeeId: `e${i}`,
      displayName: `Employee ${i}`,
      orgDomain: org.domain,
      devicePublicKey: dev.publicKeyB64,
      mlsSignatureKey: toBase64(sig.publicKey),
      issuedAt: new Date(Date.now() - 1000).toISOString(),
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    },
    org.key.privateKey,
  );
  return generateKeyPackage(certificateCredential(cert), sig);
}

const t = () => performance.now();
const creator = await device(0);
let state = await createGroupState(utf8('bench'), creator, config);
const kps = await Promise.all(Array.from({ length: SIZE - 1 }, (_, i) => device(i + 1)));
const bulk = await commit(state, { add: kps.map((k) => decodeKeyPackage(k.message)) });
state = bulk.newState;
// one existing member follows along, to time the receiving side of the add
const watcher = await joinFromWelcome(bulk.welcome!, kps[0]!.secret, config);
console.error(`group of ${SIZE} built`);

const newcomer = await device(1000);
let t0 = t();
const add = await commit(state, { add: [decodeKeyPackage(newcomer.message)] });
const addMs = t() - t0;
t0 = t();
await processIncoming(watcher, add.commit);
const processMs = t() - t0;
t0 = t();
const joined = await joinFromWelcome(add.welcome!, newcomer.secret, config);
const joinMs = t() - t0;
let sender = add.newState;
let receiver = joined;
const enc: number[] = [];
const dec: number[] = [];
for (let i = 0; i < MESSAGES; i++) {
  const a = t();
  const e = await encryptApplication(
    sender,
    utf8(JSON.stringify({ v: 1, type: 'text', id: `m${i}`, text: 'hello '.repeat(20), sentAt: new Date().toISOString() })),
  );
  const b = t();
  const r = await processIncoming(receiver, e.message);
  const c = t();
  sender = e.newState;
  receiver = r.newState;
  enc.push(b - a);
  dec.push(c - b);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
console.log(
  JSON.stringify({
    group_size_before_add: SIZE,
    add_member_50_ms: Number(addMs.toFixed(1)),
    member_process_commit_ms: Number(processMs.toFixed(1)),
    join_welcome_ms: Number(joinMs.toFixed(1)),
    encrypt_p50_ms: Number(median(enc).toFixed(3)),
    decrypt_p50_ms: Number(median(dec).toFixed(3)),
    messages: MESSAGES,
  }),
);
