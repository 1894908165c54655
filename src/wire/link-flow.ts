/**
 * Both ends of the linking exchange (wire/link.ts), shared by the extension and the tests:
 * NewDeviceLink runs on the browser being linked (B, over plain HTTP: it has no certificate),
 * LinkingDevice on the enrolled device (A, over its authenticated connection).
 *
 *   B → gw  open(locator(code), commit(bKey))          A → gw  join(locator(code)) → commitment
 *   A → B   hello{aKey}                               B → A   reveal{bKey, seal(request)}
 *   A checks commit(bKey); both show the SAS; the employee confirms on A
 *   A → gw  device.link(B's keys and proofs) → B's certificate
 *   A → B   seal(grant), then seal(history 0..n-1)
 */
import * as v from 'valibot';
import type { Certificate } from './certificate';
import type { KontorClient } from './client';
import { KontorError } from './client';
import {
  decodeEnvelope,
  deriveLinkKeys,
  encodeEnvelope,
  generateEphemeral,
  HistoryChunk,
  LinkError,
  LinkGrant,
  linkCommitment,
  linkLocator,
  linkProofTranscript,
  LinkRequest,
  newLinkCode,
  openLink,
  sealLink,
  type Ephemeral,
  type LinkKeys,
  type LinkReadResult,
} from './link';

const POLL_MS = 400;

type Reader = (after: number) => Promise<LinkReadResult>;

/** Waits for the other side's next message after `after`, until `deadline`. */
async function next(read: Reader, after: number, deadline: number, signal?: AbortSignal): Promise<{ index: number; body: string }> {
  for (;;) {
    if (signal?.aborted) throw new LinkError('expired', 'linking was cancelled');
    const r = await read(after);
    const m = r.messages[0];
    if (m) return m;
    if (Date.now() > deadline) throw new LinkError('expired', 'the other device did not answer in time');
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}

export interface NewDeviceKeys {
  devicePublicKey: string;
  mlsSignatureKey: string;
  signWithDeviceKey: (d: Uint8Array) => Promise<string>;
  signWithMlsKey: (d: Uint8Array) => Promise<string>;
  /** how this device names itself to the linking one */
  label?: string;
}

export interface LinkedResult {
  grant: LinkGrant;
  history: HistoryChunk[];
}

/** B's side. `start` opens the mailbox; show `code`, then `exchange` runs until A's grant arrived. */
export class NewDeviceLink {
  private keys: LinkKeys | null = null;
  private lastRead = -1;
  sas: string | null = null;

  private constructor(
    private readonly o: { gatewayUrl: string; domain: string; fetch?: typeof fetch },
    readonly code: string,
    readonly sessionId: string,
    readonly expiresAt: number,
    private readonly commitment: string,
    private readonly eph: Ephemeral,
  ) {}

  static async start(o: { gatewayUrl: string; domain: string; fetch?: typeof fetch }): Promise<NewDeviceLink> {
    const eph = await generateEphemeral();
    const code = newLinkCode();
    const commitment = await linkCommitment(eph.publicKeyB64);
    const r = (await post(o, '/v1/link/open', { locator: await linkLocator(code), commitment })) as {
      sessionId: string;
      expiresAt: number;
    };
    return new NewDeviceLink(o, code, r.sessionId, r.expiresAt, commitment, eph);
  }

  private read: Reader = (after) => post(this.o, '/v1/link/read', { sessionId: this.sessionId, after }) as Promise<LinkReadResult>;

  /** Waits for A's hello, answers with this device's key and request; resolves to the SAS to show. */
  async answer(keys: NewDeviceKeys, signal?: AbortSignal): Promise<string> {
    const m = await next(this.read, this.lastRead, this.expiresAt, signal);
    this.lastRead = m.index;
    const hello = decodeEnvelope(m.body);
    if (hello.t !== 'hello') throw new LinkError('malformed', 'expected the other device’s key first');
    const t = {
      domain: this.o.domain,
      sessionId: this.sessionId,
      commitment: this.commitment,
      aKey: hello.key,
      bKey: this.eph.publicKeyB64,
    };
    this.keys = await deriveLinkKeys(this.eph.privateKey, hello.key, t);
    const p = {
      domain: this.o.domain,
      sessionId: this.sessionId,
      devicePublicKey: keys.devicePublicKey,
      mlsSignatureKey: keys.mlsSignatureKey,
    };
    const request: LinkRequest = {
      devicePublicKey: keys.devicePublicKey,
      mlsSignatureKey: keys.mlsSignatureKey,
      proof: await keys.signWithDeviceKey(linkProofTranscript('device', p)),
      mlsProof: await keys.signWithMlsKey(linkProofTranscript('mls', p)),
      ...(keys.label ? { label: keys.label } : {}),
    };
    const box = await sealLink(this.keys.toA, this.sessionId, 'request', request);
    await post(this.o, '/v1/link/send', {
      sessionId: this.sessionId,
      body: encodeEnvelope({ t: 'reveal', key: this.eph.publicKeyB64, box }),
    });
    this.sas = this.keys.sas;
    return this.keys.sas;
  }

  /** Waits for A's grant (after the employee confirmed the SAS there) and the history that follows it. */
  async receive(signal?: AbortSignal): Promise<LinkedResult> {
    if (!this.keys) throw new LinkError('malformed', 'answer first');
    const box = async (label: string) => {
      const m = await next(this.read, this.lastRead, this.expiresAt, signal);
      this.lastRead = m.index;
      const e = decodeEnvelope(m.body);
      if (e.t !== 'box' || e.label !== label) throw new LinkError('malformed', `expected ${label}`);
      return openLink(this.keys!.toB, this.sessionId, label, e.box);
    };
    const grant = parse(LinkGrant, await box('grant'));
    const history: HistoryChunk[] = [];
    for (let i = 0; i < grant.historyChunks; i++) history.push(parse(HistoryChunk, await box(`history ${i}`)));
    return { grant, history };
  }

  /** Tells A this device is enrolled and its key packages are up. */
  async ready(): Promise<void> {
    if (!this.keys) throw new LinkError('malformed', 'answer first');
    const box = await sealLink(this.keys.toA, this.sessionId, 'ready', { ready: true });
    await post(this.o, '/v1/link/send', { sessionId: this.sessionId, body: encodeEnvelope({ t: 'box', label: 'ready', box }) });
  }
}

/** A's side: join with the code B shows, then `confirm` once the employee compared the SAS. */
export class LinkingDevice {
  private constructor(
    private readonly client: KontorClient,
    readonly sessionId: string,
    readonly expiresAt: number,
    /** the SAS this device computed: the employee compares it with B's screen */
    readonly sas: string,
    /** B's keys and proofs (authentic only once the SAS matched) */
    readonly request: LinkRequest,
    private readonly keys: LinkKeys,
    private readonly revealIndex: number,
  ) {}

  static async join(client: KontorClient, domain: string, code: string, signal?: AbortSignal): Promise<LinkingDevice> {
    const joined = await client.call('link.join', { locator: await linkLocator(code) });
    const eph = await generateEphemeral();
    await client.call('link.send', { sessionId: joined.sessionId, body: encodeEnvelope({ t: 'hello', key: eph.publicKeyB64 }) });
    const read: Reader = (after) => client.call('link.read', { sessionId: joined.sessionId, after });
    const m = await next(read, -1, joined.expiresAt, signal);
    const reveal = decodeEnvelope(m.body);
    if (reveal.t !== 'reveal') throw new LinkError('malformed', 'expected the new device’s key');
    // B committed to its key before it saw ours: a key that does not match was swapped on the way
    if ((await linkCommitment(reveal.key)) !== joined.commitment)
      throw new LinkError('mismatch', 'the new device’s key does not match what it committed to: someone is in between');
    const t = { domain, sessionId: joined.sessionId, commitment: joined.commitment, aKey: eph.publicKeyB64, bKey: reveal.key };
    const keys = await deriveLinkKeys(eph.privateKey, reveal.key, t);
    const request = parse(LinkRequest, await openLink(keys.toA, joined.sessionId, 'request', reveal.box));
    return new LinkingDevice(client, joined.sessionId, joined.expiresAt, keys.sas, request, keys, m.index);
  }

  /** After the employee saw the same SAS on both screens: B's certificate from the gateway. */
  async certify(): Promise<Certificate> {
    const { label: _label, ...proofs } = this.request;
    const r = await this.client.call('device.link', { sessionId: this.sessionId, ...proofs });
    return r.certificate;
  }

  /** Sends the grant and the history chunks it announces, each sealed. */
  async send(grant: LinkGrant, history: HistoryChunk[]): Promise<void> {
    if (grant.historyChunks !== history.length) throw new LinkError('malformed', 'the grant announces another number of history chunks');
    const put = async (label: string, value: unknown) =>
      this.client.call('link.send', {
        sessionId: this.sessionId,
        body: encodeEnvelope({ t: 'box', label, box: await sealLink(this.keys.toB, this.sessionId, label, value) }),
      });
    await put('grant', grant);
    for (const [i, chunk] of history.entries()) await put(`history ${i}`, chunk);
  }

  /** Waits until B says it is enrolled and has key packages up: then it can be added to conversations. */
  async waitReady(signal?: AbortSignal): Promise<void> {
    const read: Reader = (after) => this.client.call('link.read', { sessionId: this.sessionId, after });
    const m = await next(read, this.revealIndex, this.expiresAt, signal);
    const e = decodeEnvelope(m.body);
    if (e.t !== 'box' || e.label !== 'ready') throw new LinkError('malformed', 'expected the new device to be ready');
    await openLink(this.keys.toA, this.sessionId, 'ready', e.box);
  }
}

function parse<S extends v.GenericSchema>(schema: S, value: unknown): v.InferOutput<S> {
  const r = v.safeParse(schema, value);
  if (!r.success) throw new LinkError('malformed', `a linking message is malformed: ${r.issues[0]?.message ?? ''}`);
  return r.output;
}

async function post(o: { gatewayUrl: string; fetch?: typeof fetch }, path: string, body: unknown): Promise<unknown> {
  const r = await (o.fetch ?? fetch)(o.gatewayUrl.replace(/\/$/, '') + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  const json = (await r.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!r.ok) throw new KontorError(json?.error?.code ?? 'unavailable', json?.error?.message ?? `HTTP ${r.status}`);
  return json;
}
