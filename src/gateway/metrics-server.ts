/**
 * /metrics on its own listener (loopback unless --metrics-host says otherwise): the counters
 * tell who enrolls, how much is sent and which partners talk, which is nobody's business on
 * the public port.
 */
import { createServer, type Server } from 'node:http';
import { send } from './http';
import type { Metrics } from './metrics';

export async function listenMetrics(metrics: Metrics, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && new URL(req.url ?? '/', 'http://x').pathname === '/metrics')
      send(res, 200, metrics.render(), 'text/plain; version=0.0.4');
    else send(res, 404, { error: { code: 'not_found', message: 'only GET /metrics here' } });
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
