/**
 * What the conversation engine needs from a gateway. `gatewayTransport` adapts the real
 * client (src/wire/client.ts); unit tests use an in-memory hub with the same rules.
 */
import type { ClaimedKeyPackage, InboxEntry, MethodParams } from '../../wire/protocol';
import type { KontorClient } from '../../wire/client';
import type { DeviceRevocation } from '../../wire/identity';

export type SendParams = MethodParams<'send'>;

export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    /** 'offline' for anything worth retrying later; otherwise the gateway's error code */
    readonly code: 'offline' | 'epoch_conflict' | string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface Transport {
  createConversation(conversationId: string): Promise<{ hub: string }>;
  send(p: SendParams): Promise<{ seq: number; duplicate: boolean }>;
  claimKeyPackages(domain: string, target: { contact?: string; employee?: string }): Promise<ClaimedKeyPackage[]>;
  uploadKeyPackages(keyPackages: string[], lastResort?: string): Promise<void>;
  countKeyPackages(): Promise<{ available: number; lastResort: boolean }>;
  fetchInbox(after: number, limit: number): Promise<InboxEntry[]>;
  ack(ids: number[]): Promise<void>;
  /** signed statements for those of these devices of `domain` that are revoked (issue 15) */
  revocations(domain: string, deviceIds: string[]): Promise<DeviceRevocation[]>;
}

const OFFLINE_CODES = new Set(['closed', 'timeout', 'unavailable', 'rate_limited', 'no_websocket']);

async function wrap<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      throw new TransportError(
        OFFLINE_CODES.has(code) ? 'offline' : code,
        (e as Error).message,
        (e as { details?: Record<string, unknown> }).details ?? {},
      );
    }
    throw new TransportError('offline', String((e as Error)?.message ?? e));
  }
}

/**
 * @param client the connected client, or a getter returning the current one (null while offline)
 * @example engine = await ChannelEngine.open({ ..., transport: gatewayTransport(() => currentClient) })
 */
export function gatewayTransport(client: KontorClient | (() => KontorClient | null)): Transport {
  const c = (): KontorClient => {
    const x = typeof client === 'function' ? client() : client;
    if (!x) throw new TransportError('offline', 'not connected to the gateway');
    return x;
  };
  return {
    createConversation: (id) => wrap(async () => ({ hub: (await c().createConversation(id)).hub })),
    send: (p) =>
      wrap(async () => {
        const r = await c().send(p);
        return { seq: r.seq, duplicate: r.duplicate };
      }),
    claimKeyPackages: (domain, target) => wrap(async () => (await c().claimKeyPackages(domain, target)).devices),
    uploadKeyPackages: (kps, lastResort) => wrap(async () => void (await c().uploadKeyPackages(kps, lastResort))),
    countKeyPackages: () => wrap(() => c().call('keyPackages.count', {})),
    fetchInbox: (after, limit) => wrap(async () => (await c().fetchInbox(after, limit)).entries),
    ack: (ids) => wrap(async () => void (await c().ack(ids))),
    revocations: (domain, devices) => wrap(async () => (await c().call('revocations.check', { domain, devices })).revocations),
  };
}
