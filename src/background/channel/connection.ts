/**
 * The connection to the company's own gateway: connects once enrolled, reconnects with
 * backoff, and keeps itself (and with it the service worker) alive with regular traffic.
 */
import { KontorClient, KontorError } from '../../wire/client';
import { engineState, openEngine } from './engine-host';
import { currentClient, removedReason, setClient, setRemoved } from './link';
import { syncDue } from './members';
import { broadcast } from './ui-events';

const KEEPALIVE_MS = 20_000;
/** how often the gateways are asked which member devices were revoked (issue 15), in keepalive ticks: 2 minutes */
const REVOCATION_TICKS = 6;

/** the close code the gateway ends a revoked device's session with (src/gateway/ws.ts) */
const REVOKED_CLOSE = 4001;

let connecting: Promise<void> | null = null;
let retryDelay = 1000;
let keepalive: ReturnType<typeof setInterval> | undefined;

/** Connects (or reconnects) to the own gateway; safe to call any time. */
export function connect(): Promise<void> {
  connecting ??= (async () => {
    try {
      await openEngine();
      const { engine, identity, meta } = engineState();
      if (!engine || !identity?.certificate || !meta || currentClient() || removedReason() !== null) return;
      const c = await KontorClient.connect({
        gatewayUrl: meta.gatewayUrl,
        certificate: identity.certificate,
        deviceKey: identity.deviceKey.privateKey,
      });
      setClient(c);
      retryDelay = 1000;
      c.onEvent((e) => {
        if (e.event === 'inbox') void engineState().engine?.receive([e.entry]);
        else if (e.event === 'revoked') {
          setRemoved('device revoked');
          c.close();
        }
      });
      c.onClose((code, reason) => {
        if (currentClient() === c) setClient(null);
        clearInterval(keepalive);
        if (code === REVOKED_CLOSE && reason.includes('revoked')) setRemoved(reason);
        broadcast({ type: 'status' });
        if (removedReason() !== null) return;
        setTimeout(() => void connect(), retryDelay);
        retryDelay = Math.min(retryDelay * 2, 60_000);
      });
      // Regular traffic keeps the gateway connection, and with it the service worker, alive.
      clearInterval(keepalive);
      let tick = 0;
      keepalive = setInterval(() => {
        void c.call('keyPackages.count', {}).catch(() => undefined);
        if (++tick % REVOCATION_TICKS === 0) void checkRevocations();
      }, KEEPALIVE_MS);
      broadcast({ type: 'status' });
      await engine.sync();
      await engine.flush().catch(() => undefined);
      await engine.replenishKeyPackages(10);
      await checkRevocations();
      await syncDue();
    } catch (error) {
      // the gateway refused this device for good: say so in the side panel instead of retrying forever
      if (error instanceof KontorError && error.code === 'revoked') {
        setRemoved(error.message);
        broadcast({ type: 'status' });
        return;
      }
      console.warn('[kontor] gateway connection failed:', error instanceof Error ? error.message : error);
      if (engineState().meta) setTimeout(() => void connect(), retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60_000);
    } finally {
      connecting = null;
    }
  })();
  return connecting;
}

/** Revocations signed by an org or an employee's identity: the engine verifies and acts on them. */
async function checkRevocations(): Promise<void> {
  await engineState()
    .engine?.checkRevocations()
    .catch((e: unknown) => console.warn('[kontor] revocation check', e));
}
