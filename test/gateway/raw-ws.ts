/**
 * A bare WebSocket client over a TCP socket, for tests that play a misbehaving device: it
 * never answers a close frame (the ws library always does) and keeps writing until the
 * server cuts the connection.
 */
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

export class RawWs {
  /** text frames received, in order */
  readonly texts: string[] = [];
  /** close codes received (never answered) */
  readonly closeCodes: number[] = [];
  /** resolves with Date.now() when the server ended or reset the TCP connection */
  readonly ended: Promise<number>;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(private readonly sock: net.Socket) {
    this.ended = new Promise((resolve) => sock.once('close', () => resolve(Date.now())));
    sock.on('error', () => undefined);
  }

  static connect(url: string): Promise<RawWs> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const sock = net.connect(Number(u.port), u.hostname);
      const key = randomBytes(16).toString('base64');
      const accept = createHash('sha1')
        .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
        .digest('base64');
      sock.once('connect', () =>
        sock.write(
          `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
      sock.once('error', reject);
      let head = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        sock.off('data', onData);
        const text = head.subarray(0, end).toString();
        if (!text.startsWith('HTTP/1.1 101') || !text.includes(accept)) return reject(new Error(`no upgrade: ${text}`));
        const ws = new RawWs(sock);
        sock.on('data', (c: Buffer) => ws.onData(c));
        ws.onData(head.subarray(end + 4));
        resolve(ws);
      };
      sock.on('data', onData);
    });
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const op = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf.length < at + len) return;
      const payload = this.buf.subarray(at, at + len);
      this.buf = this.buf.subarray(at + len);
      if (op === 1) this.texts.push(payload.toString());
      else if (op === 8) this.closeCodes.push(payload.length >= 2 ? payload.readUInt16BE(0) : 1005);
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /** the next text frame after the first `skip` ones */
  async text(index: number, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.texts.length <= index) {
      if (Date.now() > deadline) throw new Error('no frame in time');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return this.texts[index]!;
  }

  sendText(s: string): void {
    if (this.sock.destroyed) return;
    const payload = Buffer.from(s);
    const mask = randomBytes(4);
    const len = payload.length;
    const header = len < 126 ? Buffer.from([0x81, 0x80 | len]) : Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]);
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    this.sock.write(Buffer.concat([header, mask, masked]));
  }

  destroy(): void {
    this.sock.destroy();
  }
}
