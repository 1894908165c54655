/**
 * Device WebSocket (/v1/ws): the server sends a challenge nonce; the device answers with its
 * certificate and a signature over a domain-separated string; then JSON RPC and push events.
 */
import * as v from 'valibot';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { AuthFrame, RpcRequest, authChallenge, LIMITS } from '../wire/protocol';
import { verifyCertificate } from '../wire/certificate';
import { verify } from '../wire/ed25519';
import { randomBytes, toBase64Url } from '../wire/bytes';
import { ApiError, toApiError } from './errors';
import { dispatch, type DeviceSession } from './rpc';
import type { Gateway } from './context';
import type { Federation } from './federation';
import type { RoutedEntry } from './store/types';
import type { InboxEntry } from '../wire/protocol';
import type { IncomingMessage } from 'node:http';

/**
 * An unauthenticated socket is cut (terminate, not a close handshake the client could leave
 * unanswered for 30 s) this long after it opened, also after a failed attempt.
 */
const AUTH_TIMEOUT_MS = 5_000;
/** how long a revoked device's socket may take to answer the close frame before it is cut */
const REVOKED_CLOSE_GRACE_MS = 300;

/**
 * The push frame for an inbox entry, as the bytes ws sends. A ciphertext is base64 (every way
 * into the store checks it against the Opaque schema), so it needs no escaping and is copied
 * in as it is: JSON.stringify would scan its 1.4 KB for characters to escape, and a string
 * frame would be built once more on the heap before ws encoded it (together about a
 * microsecond and 3 KB of garbage per push).
 */
export function inboxFrame(entry: InboxEntry): Buffer {
  const { payload } = entry;
  // Defence in depth for the invariant above: a '"' or '\\' in a ciphertext copied in as it is
  // could end the string early and let a sender add fields (say, another "sender") to someone
  // else's push. Two native searches cost far less than the escape scan they guard.
  if (payload === undefined || payload.includes('"') || payload.includes('\\')) {
    return Buffer.from(JSON.stringify({ event: 'inbox', entry }));
  }
  const { payload: _, ...rest } = entry;
  const head = `{"event":"inbox","entry":${JSON.stringify(rest).slice(0, -1)},"payload":"`;
  // UTF-8 throughout: were a character above U+00FF ever to slip in, latin1 would write its
  // low byte, and U+0122 would become a '"'
  const at = Buffer.byteLength(head);
  const end = at + Buffer.byteLength(payload);
  const frame = Buffer.allocUnsafe(end + 3);
  frame.write(head, 0, 'utf8');
  frame.write(payload, at, 'utf8');
  frame.write('"}}', end, 'latin1');
  return frame;
}

export class DeviceSockets {
  readonly wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.bodyBytes, perMessageDeflate: false });
  private byDevice = new Map<string, Set<WebSocket>>();
  /** the TCP socket under each WebSocket, for corking (ws has no public handle on it) */
  private raw = new WeakMap<WebSocket, Duplex>();
  private corked = new Set<Duplex>();
  /**
   * Devices revoked while this process runs, kept current by the revocation poll (server.ts).
   * Checked on every RPC: a revoked device that ignores the close frame, or whose
   * authentication was in flight when the poll closed its sockets, gets nothing more served.
   * Revocations are rare, so the set stays small; one Set lookup per RPC costs nothing measurable.
   */
  private revoked = new Set<string>();
  authenticated = 0;

  constructor(
    private readonly gw: Gateway,
    private readonly fed: Federation,
  ) {
    this.wss.on('connection', (ws) => this.onConnection(ws));
  }

  /** Upgrade handler: like wss.handleUpgrade, but remembers the TCP socket for corking. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.raw.set(ws, socket);
      this.wss.emit('connection', ws, req);
    });
  }

  push(entries: RoutedEntry[]): void {
    for (const { deviceId, entry } of entries) {
      const set = this.byDevice.get(deviceId);
      if (!set) continue;
      const frame = inboxFrame(entry);
      for (const ws of set) this.send(ws, frame);
    }
  }

  /**
   * Frames sent during one tick leave in one write: the socket stays corked until the tick's
   * promise callbacks ran. A committed batch of N messages resolves N RPCs and N pushes in the
   * same tick; without this each frame cost its own writev system call.
   */
  private send(ws: WebSocket, frame: string | Buffer): void {
    const s = this.raw.get(ws);
    if (s && !this.corked.has(s)) {
      s.cork();
      if (this.corked.add(s).size === 1) process.nextTick(this.uncork);
    }
    // a Buffer holds JSON text too: it goes out as a text frame
    ws.send(frame, { binary: false });
  }

  private readonly uncork = (): void => {
    for (const s of this.corked) s.uncork();
    this.corked.clear();
  };

  /** Revokes a device in this process: refuses its RPCs from now on and cuts its sockets. */
  disconnect(deviceId: string): void {
    this.revoked.add(deviceId);
    const set = this.byDevice.get(deviceId);
    this.byDevice.delete(deviceId);
    for (const ws of set ?? []) this.cut(ws);
  }

  /**
   * A polite client answers the close frame at once; one that ignores it would keep the socket
   * until ws's 30 s close timeout. terminate() does not wait for it.
   */
  private cut(ws: WebSocket): void {
    if (ws.readyState === ws.OPEN) {
      ws.send(JSON.stringify({ event: 'revoked' }));
      ws.close(4001, 'device revoked');
    }
    setTimeout(() => ws.terminate(), REVOKED_CLOSE_GRACE_MS).unref();
  }

  private onConnection(ws: WebSocket): void {
    const nonce = toBase64Url(randomBytes(24));
    let session: DeviceSession | null = null;
    let authing = false;
    const timer = setTimeout(() => ws.terminate(), AUTH_TIMEOUT_MS);
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      clearTimeout(timer);
      if (!session) return;
      this.authenticated--;
      const set = this.byDevice.get(session.deviceId);
      set?.delete(ws);
      if (set?.size === 0) {
        this.byDevice.delete(session.deviceId);
        this.gw.watch(session.deviceId, false);
      }
    });
    ws.send(JSON.stringify({ type: 'challenge', nonce, domain: this.gw.config.domain }));

    ws.on('message', (data, isBinary) => {
      let msg: unknown;
      try {
        if (isBinary) throw new Error('binary');
        msg = JSON.parse(data.toString());
      } catch {
        return this.reply(ws, null, new ApiError('bad_request', 'frames are JSON text'));
      }
      if (session) return void this.onRpc(ws, session, msg);
      if (authing) return;
      authing = true;
      this.authenticate(msg, nonce).then(
        (s) => {
          clearTimeout(timer);
          if (ws.readyState !== ws.OPEN) return;
          // revoked after the database said it was active: the poll has already run for it
          if (this.revoked.has(s.deviceId)) {
            ws.send(JSON.stringify({ type: 'error', ...new ApiError('revoked', 'device revoked').toJSON() }));
            return void ws.terminate();
          }
          session = s;
          this.authenticated++;
          let set = this.byDevice.get(s.deviceId);
          if (!set) {
            this.byDevice.set(s.deviceId, (set = new Set()));
            this.gw.watch(s.deviceId, true);
          }
          set.add(ws);
          ws.send(JSON.stringify({ type: 'ready', deviceId: s.deviceId, address: s.address }));
        },
        (e: unknown) => {
          const err = toApiError(e) ?? new ApiError('unauthorized', 'authentication failed');
          this.gw.count.auth({ kind: 'ws', result: err.code });
          ws.send(JSON.stringify({ type: 'error', ...err.toJSON() }));
          ws.close(4001, err.code);
        },
      );
    });
  }

  /** Nonce is per connection and never reused: a recorded answer is useless on a new socket. */
  private async authenticate(msg: unknown, nonce: string): Promise<DeviceSession> {
    const parsed = v.safeParse(AuthFrame, msg);
    if (!parsed.success) throw new ApiError('bad_request', 'expected {type:"auth", certificate, signature}');
    const { certificate, signature } = parsed.output;
    let cert;
    try {
      cert = await verifyCertificate(certificate, this.gw.orgKey.publicKeyB64, { domain: this.gw.config.domain });
    } catch (e) {
      throw new ApiError('unauthorized', (e as Error).message);
    }
    const dev = await this.gw.store.getDevice(cert.deviceId);
    if (!dev || dev.devicePublicKey !== cert.devicePublicKey) throw new ApiError('unauthorized', 'unknown device');
    if (dev.revokedAt !== null) throw new ApiError('revoked', 'device revoked');
    if (!(await verify(cert.devicePublicKey, signature, authChallenge(this.gw.config.domain, nonce, cert.deviceId)))) {
      throw new ApiError('unauthorized', 'challenge signature does not verify');
    }
    this.gw.count.auth({ kind: 'ws', result: 'ok' });
    return { deviceId: cert.deviceId, employeeId: cert.employeeId, address: `${cert.deviceId}@${this.gw.config.domain}` };
  }

  private async onRpc(ws: WebSocket, s: DeviceSession, msg: unknown): Promise<void> {
    const req = v.safeParse(RpcRequest, msg);
    if (!req.success) return this.reply(ws, null, new ApiError('bad_request', 'expected {id, method, params}'));
    const { id, method, params } = req.output;
    if (this.revoked.has(s.deviceId)) {
      this.reply(ws, id, new ApiError('revoked', 'device revoked'));
      return this.cut(ws);
    }
    try {
      // synchronous in one process; with several instances a promise now and then (a new block)
      const allowed = this.gw.limits.device.take(s.deviceId);
      if (!(allowed === true || (allowed !== false && (await allowed))))
        return this.reply(ws, id, new ApiError('rate_limited', 'too many requests from this device'));
      this.reply(ws, id, null, await dispatch(this.gw, this.fed, s, method, params));
    } catch (e) {
      const known = toApiError(e);
      if (known) return this.reply(ws, id, known);
      this.gw.log.error('rpc failed', { method, error: (e as Error).message });
      this.reply(ws, id, new ApiError('internal', 'internal error'));
    }
  }

  private reply(ws: WebSocket, id: number | null, err: ApiError | null, result?: unknown): void {
    if (ws.readyState !== ws.OPEN) return;
    this.send(ws, JSON.stringify(err ? { id, ...err.toJSON() } : { id, result }));
  }
}
