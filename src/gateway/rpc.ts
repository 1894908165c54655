/** Authenticated device RPC methods. Params are validated against wire/protocol's Methods. */
import * as v from 'valibot';
import { FedClaimReply, FedErrorReply, FedRevocationsReply, type FedClaim, type FedRevocations } from '../wire/federation';
import { Methods, type MethodName, type MethodResults, type ClaimedKeyPackage } from '../wire/protocol';
import { ApiError } from './errors';
import { ack, send } from './delivery';
import type { Gateway } from './context';
import { parseReply, type Federation } from './federation';
import { revocationsOf, revokeSibling } from './revocations';
import { certifyLinked, partyA } from './link';

export interface DeviceSession {
  deviceId: string;
  employeeId: string;
  address: string;
}

type Handler<M extends MethodName> = (
  gw: Gateway,
  fed: Federation,
  s: DeviceSession,
  p: v.InferOutput<(typeof Methods)[M]>,
) => Promise<MethodResults[M]>;

/** Claims one key package per active device of a contact's members (or of one employee) of this org. */
export async function claimLocal(gw: Gateway, target: { contact?: string; employee?: string }): Promise<ClaimedKeyPackage[]> {
  let employees: string[];
  if (target.contact !== undefined) {
    const c = await gw.store.getContact(target.contact);
    if (!c) throw new ApiError('not_found', `no contact ${target.contact}`);
    employees = c.members;
  } else if (target.employee !== undefined) employees = [target.employee];
  else throw new ApiError('bad_request', 'claim needs contact or employee');
  const devices = (await Promise.all(employees.map((e) => gw.store.listDevices({ employeeId: e })))).flat();
  const certs = new Map(devices.map((d) => [d.deviceId, d.certificate]));
  // each device's one-time packages are handed out at a bounded rate, whoever asks; past it
  // claims get the last-resort package, which stays: repeated claims cannot drain a device
  const granted = await Promise.all(devices.map((d) => gw.limits.claims.take(d.deviceId)));
  const spent = devices.filter((_, i) => !granted[i]).map((d) => d.deviceId);
  const claimed = await gw.store.claimKeyPackages(
    devices.map((d) => d.deviceId),
    spent,
  );
  return claimed.map((c) => ({ certificate: certs.get(c.deviceId)!, keyPackage: c.keyPackage, lastResort: c.lastResort }));
}

/** Throws the error a partner's non-200 answer stands for. */
function refusal(peer: string, status: number, json: unknown): void {
  if (status === 200) return;
  const code = status === 404 ? 'not_found' : status === 403 ? 'forbidden' : status === 429 ? 'rate_limited' : 'unavailable';
  const err = v.safeParse(FedErrorReply, json);
  throw new ApiError(code, `${peer}: ${err.success ? err.output.error.message : `HTTP ${status}`}`);
}

const handlers: { [M in MethodName]: Handler<M> } = {
  'conversation.create': async (gw, _f, s, p) => {
    const created = await gw.store.createConversation(p.conversationId, s.address, Date.now());
    if (!created) {
      const c = await gw.store.getConversation(p.conversationId);
      if (c?.createdBy !== s.address) throw new ApiError('conflict', 'conversation id already taken');
    }
    return { hub: gw.config.domain, created };
  },
  send: (gw, fed, s, p) => send(gw, fed, s.address, p),
  'inbox.fetch': async (gw, _f, s, p) => ({ entries: await gw.store.fetchInbox(s.deviceId, p.after ?? 0, p.limit ?? 100) }),
  'inbox.ack': (gw, _f, s, p) => ack(gw, s.address, s.deviceId, p.ids),
  'keyPackages.upload': async (gw, _f, s, p) => {
    const have = await gw.store.countKeyPackages(s.deviceId);
    if (have.available + p.keyPackages.length > 1000) throw new ApiError('too_large', 'at most 1000 key packages per device');
    return { stored: await gw.store.addKeyPackages(s.deviceId, p.keyPackages, p.lastResort) };
  },
  'keyPackages.count': (gw, _f, s) => gw.store.countKeyPackages(s.deviceId),
  'keyPackages.claim': async (gw, fed, _s, p) => {
    if (p.domain === gw.config.domain) return { devices: await claimLocal(gw, p) };
    if (p.contact === undefined) throw new ApiError('bad_request', 'claims at another org name a contact');
    const { status, json } = await fed.request(p.domain, '/v1/fed/claim', { contact: p.contact } satisfies FedClaim);
    refusal(p.domain, status, json);
    // the shape is checked here; the client verifies each certificate against the partner's manifest
    const { devices } = parseReply(FedClaimReply, json, p.domain);
    if (devices.some((d) => d.certificate.orgDomain !== p.domain))
      throw new ApiError('unavailable', `${p.domain} answered with another org's certificate`);
    return { devices };
  },
  'devices.revoke': (gw, _f, s, p) => revokeSibling(gw, s, p.statement),
  'revocations.check': async (gw, fed, _s, p) => {
    if (p.domain === gw.config.domain) return { revocations: await revocationsOf(gw, p.devices) };
    const { status, json } = await fed.request(p.domain, '/v1/fed/revocations', { devices: p.devices } satisfies FedRevocations);
    refusal(p.domain, status, json);
    // shape and scope checked here; each member's client verifies the signature with the pinned org key
    const { revocations } = parseReply(FedRevocationsReply, json, p.domain);
    if (revocations.some((r) => r.orgDomain !== p.domain || !p.devices.includes(r.deviceId)))
      throw new ApiError('unavailable', `${p.domain} answered with a revocation it was not asked about`);
    return { revocations };
  },
  'directory.contacts': async (gw) => ({ contacts: await gw.store.listContacts() }),
  'directory.devices': async (gw, _f, _s, p) => ({
    devices: (await gw.store.listDevices(p?.employee !== undefined ? { employeeId: p.employee } : {})).map((d) => d.certificate),
  }),
  'link.join': (gw, _f, s, p) => gw.links.join(p.locator, s.deviceId),
  'link.send': (gw, _f, s, p) => gw.links.post(p.sessionId, partyA(s.deviceId), p.body),
  'link.read': (gw, _f, s, p) => gw.links.read(p.sessionId, partyA(s.deviceId), p.after),
  'device.link': (gw, _f, s, p) => certifyLinked(gw, gw.links, s, p),
};

export async function dispatch(gw: Gateway, fed: Federation, s: DeviceSession, method: string, params: unknown): Promise<unknown> {
  if (!Object.hasOwn(Methods, method)) throw new ApiError('not_found', `unknown method ${method}`);
  const m = method as MethodName;
  const parsed = v.safeParse(Methods[m], params);
  if (!parsed.success) {
    const i = parsed.issues[0];
    throw new ApiError('bad_request', `invalid params for ${m}: ${i ? `${v.getDotPath(i) ?? ''} ${i.message}` : ''}`.trim());
  }
  return (handlers[m] as Handler<MethodName>)(gw, fed, s, parsed.output as never);
}
