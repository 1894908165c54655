/**
 * Linking a browser to the employee's identity (issue 15; docs/channel.md "Linking a device"),
 * both ends in the background: this browser as the new one (B: shows a code, receives its
 * certificate, chain, identity key and history) or as the enrolled one (A: takes the code,
 * shows the SAS, and once the employee confirmed it, gets B certified, endorses it and adds it
 * to its conversations). The exchange lives in memory for its ten minutes: a restarted
 * background starts over, which costs a new code and nothing else.
 */
import { KontorError } from '../../shared/errors';
import type { LinkStatus } from '../../shared/protocol';
import { verifyCertificate } from '../../wire/certificate';
import { sign } from '../../wire/ed25519';
import { fromBase64, toBase64 } from '../../wire/bytes';
import { CHAIN_TYPE, verifyChain, type CredentialChain } from '../../wire/identity';
import { LinkingDevice, NewDeviceLink, type LinkedResult } from '../../wire/link-flow';
import type { LinkGrant } from '../../wire/link';
import { connect } from './connection';
import { channelDb, engineState, openEngine, requireEngine, setEnrollmentMeta } from './engine-host';
import { enrollingGateway } from './enrollment';
import { historyChunks, storeHistory } from './link-history';
import { currentClient } from './link';
import { pack, signWithSignatureKey, unpack } from './mls';
import { endorseDevice, saveLinkedIdentity } from './identity';
import { broadcast } from './ui-events';
import { ownDeviceLabel, rememberDeviceLabel } from './device-label';
import type { Handlers } from '../dispatcher';
import { importTransferredPartners, pinnedPartners } from '../partners/directory';

const IDLE: LinkStatus = {
  role: null,
  stage: 'idle',
  code: null,
  sas: null,
  error: null,
  linkedFrom: null,
  transferred: 0,
  added: 0,
  partners: 0,
  pinConflicts: [],
};
let status: LinkStatus = { ...IDLE };
let abort: AbortController | null = null;
let linking: LinkingDevice | null = null;

function update(next: Partial<LinkStatus>): void {
  status = { ...status, ...next };
  broadcast({ type: 'status' });
}

function fail(error: unknown): void {
  update({ stage: 'failed', error: error instanceof Error ? error.message : String(error) });
}

export const linkStatus = (): LinkStatus => status;

export function cancelLink(): LinkStatus {
  abort?.abort();
  abort = null;
  linking = null;
  status = { ...IDLE };
  return status;
}

// ---- B: the new browser ------------------------------------------------------------------------

/** Opens a link session at the gateway and shows its code; the rest runs in the background. */
export async function startNewDeviceLink(typedGateway: string | undefined): Promise<LinkStatus> {
  const { gatewayUrl, manifest } = await enrollingGateway(typedGateway);
  const { identity } = engineState();
  if (!identity) throw new KontorError('unavailable', 'no device identity');
  cancelLink();
  const controller = new AbortController();
  abort = controller;
  const b = await NewDeviceLink.start({ gatewayUrl, domain: manifest.domain });
  update({ role: 'new', stage: 'waiting', code: b.code });
  void (async () => {
    const sas = await b.answer(
      {
        devicePublicKey: identity.deviceKey.publicKeyB64,
        mlsSignatureKey: identity.mlsSignaturePublicB64,
        signWithDeviceKey: (d) => sign(identity.deviceKey.privateKey, d),
        signWithMlsKey: (d) => signWithSignatureKey(identity.mlsSignature.signKey, d),
        label: ownDeviceLabel(),
      },
      controller.signal,
    );
    update({ stage: 'compare', sas });
    const got = await b.receive(controller.signal);
    update({ stage: 'sending' });
    await accept(got, manifest);
    if (got.grant.endorsement.linkedBy) await rememberDeviceLabel(got.grant.endorsement.linkedBy, got.grant.linkedFrom);
    // before the first Welcome can arrive: it is refused unless its partners' keys are pinned here
    const partners = await importTransferredPartners(got.grant.partners ?? []);
    update({ partners: partners.added.length, pinConflicts: partners.conflicts });
    await storeHistory(await channelDb(), got.history);
    await setEnrollmentMeta({ gatewayUrl, domain: manifest.domain, orgName: manifest.orgName, orgPublicKey: manifest.orgPublicKey });
    await connect();
    await b.ready();
    update({ stage: 'done', linkedFrom: got.grant.linkedFrom, transferred: got.history.reduce((n, c) => n + c.conversations.length, 0) });
  })().catch((e: unknown) => {
    if (abort === controller) fail(e);
  });
  return status;
}

/** Checks the grant against the org key of the manifest this browser fetched itself, then stores it. */
async function accept({ grant }: LinkedResult, manifest: { domain: string; orgPublicKey: string }): Promise<void> {
  await verifyCertificate(grant.certificate, manifest.orgPublicKey, { domain: manifest.domain });
  const chain: CredentialChain = {
    type: CHAIN_TYPE,
    v: 1,
    device: grant.certificate,
    identity: grant.identity,
    endorsement: grant.endorsement,
  };
  await verifyChain(chain, manifest.orgPublicKey);
  const [publicKey, signKey] = unpack(fromBase64(grant.identityKeyPair), 2);
  await saveLinkedIdentity(await channelDb(), { chain, identityKeyPair: { publicKey: publicKey!, signKey: signKey! } });
  await openEngine();
}

// ---- A: the enrolled browser -------------------------------------------------------------------

/** Joins the session of the code the new browser shows; resolves once both sides can show the SAS. */
export async function joinLink(code: string): Promise<LinkStatus> {
  await requireEngine();
  const client = currentClient();
  const { meta } = engineState();
  if (!client || !meta) throw new KontorError('unavailable', 'not connected to your company gateway');
  cancelLink();
  const controller = new AbortController();
  abort = controller;
  update({ role: 'linking', stage: 'waiting' });
  try {
    linking = await LinkingDevice.join(client, meta.domain, code, controller.signal);
  } catch (e) {
    fail(e);
    throw new KontorError('forbidden', `linking failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  update({ stage: 'compare', sas: linking.sas });
  return status;
}

/**
 * The employee saw the same SAS on both screens: B's certificate from the gateway, this
 * identity's endorsement of it, the grant and (if wanted) the history; once B is ready, B is
 * added to this browser's conversations.
 */
export async function confirmLink(withHistory: boolean): Promise<LinkStatus> {
  const a = linking;
  const { identity, meta } = engineState();
  if (!a || status.stage !== 'compare') throw new KontorError('conflict', 'no link waiting for confirmation');
  if (!identity?.chain || !identity.employeeKey || !meta)
    throw new KontorError('forbidden', 'this browser does not hold the employee identity');
  const engine = await requireEngine();
  update({ stage: 'sending' });
  try {
    const certificate = await a.certify();
    if (a.request.label) await rememberDeviceLabel(certificate.deviceId, a.request.label);
    const own = identity.chain.device;
    const endorsement = await endorseDevice(identity.employeeKey.signKey, certificate, identity.chain.identity.identityKey, own.deviceId);
    const history = withHistory ? await historyChunks(engine) : [];
    const grant: LinkGrant = {
      certificate,
      identity: identity.chain.identity,
      endorsement,
      identityKeyPair: toBase64(pack([identity.employeeKey.publicKey, identity.employeeKey.signKey])),
      orgName: meta.orgName,
      linkedFrom: ownDeviceLabel(),
      historyChunks: history.length,
      partners: await pinnedPartners(),
    };
    await a.send(grant, history);
    await a.waitReady(abort?.signal);
    let added = 0;
    for (const c of await engine.conversations()) {
      if (c.status !== 'active') continue;
      const r = await engine.addMembers(c.id, [{ domain: meta.domain, employee: own.employeeId }]).catch(() => null);
      added += r?.added.length ?? 0;
    }
    linking = null;
    update({ stage: 'done', transferred: history.reduce((n, h) => n + h.conversations.length, 0), added });
  } catch (e) {
    fail(e);
  }
  return status;
}

export const linkHandlers: Pick<
  Handlers,
  'channel.linkStart' | 'channel.linkStatus' | 'channel.linkJoin' | 'channel.linkConfirm' | 'channel.linkCancel'
> = {
  'channel.linkStart': ({ gatewayUrl }) => startNewDeviceLink(gatewayUrl),
  'channel.linkStatus': async () => linkStatus(),
  'channel.linkJoin': ({ code }) => joinLink(code),
  'channel.linkConfirm': ({ history }) => confirmLink(history),
  'channel.linkCancel': async () => cancelLink(),
};
