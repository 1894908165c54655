/**
 * Typed client for the background's message protocol, for extension pages: requests go over
 * the page's port (port.ts). Errors sent back by the background are rethrown as KontorError
 * with their code.
 */
import { KontorError } from './errors';
import { request } from './port';
import type { Envelope, Kind, Params, Reply, Results } from './protocol';

export async function send<K extends Kind>(kind: K, params: Params<K>): Promise<Results[K]> {
  const envelope: Envelope<K> = { kontor: 1, kind, params };
  const reply = (await request(envelope)) as Reply<K> | undefined;
  if (!reply || typeof reply !== 'object') throw new KontorError('unavailable', 'no reply from background');
  if (!reply.ok) throw new KontorError(reply.error.code, reply.error.message);
  return reply.result;
}
