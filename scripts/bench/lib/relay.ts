/**
 * The ceiling for the gateway benchmark: a bare `ws` relay with no storage, no auth and no
 * validation. A socket that says "receiver" gets every message any other socket sends.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 512 * 1024 });
let receiver: WebSocket | null = null;
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.toString() === 'receiver') {
      receiver = ws;
      return;
    }
    receiver?.send(data, { binary: isBinary });
    // echo an acknowledgement so the sender can keep a window, like the gateway's RPC reply
    ws.send('{"result":"ok"}');
  });
});
wss.on('listening', () => {
  const a = wss.address();
  process.stdout.write(JSON.stringify({ msg: 'listening', port: typeof a === 'object' && a ? a.port : 0 }) + '\n');
});
