/**
 * Enrollment: this browser's identity as the UI shows it, and enrolling with a one-time code
 * from the admin against the company's gateway.
 */
import { KontorError } from '../../shared/errors';
import { isGatewayUrl, normalizeDomain } from '../../shared/policy/domain';
import { effectiveSettings } from '../../shared/policy/effective';
import type { ChannelIdentity } from '../../shared/protocol';
import { enroll, KontorError as WireError } from '../../wire/client';
import { fetchJson, MANIFEST_MAX_BYTES } from '../../wire/fetch';
import { MANIFEST_PATH, verifyManifest } from '../../wire/manifest';
import { getPolicy } from '../policy';
import { getUserSettings } from '../settings';
import { connect } from './connection';
import { engineState, openEngine, saveEnrollment } from './engine-host';
import { isConnected, removedReason } from './link';
import { signWithSignatureKey } from './mls';
import { toBase64 } from '../../wire/bytes';

export async function channelIdentity(): Promise<ChannelIdentity> {
  await openEngine();
  const settings = effectiveSettings(getPolicy().policy, await getUserSettings());
  const { identity, meta } = engineState();
  const cert = identity?.certificate;
  return {
    enrolled: !!cert && !!meta,
    displayName: cert?.displayName ?? null,
    employeeId: cert?.employeeId ?? null,
    orgDomain: cert?.orgDomain ?? null,
    orgName: meta?.orgName ?? null,
    gatewayUrl: meta?.gatewayUrl ?? settings.organization.gateway ?? null,
    gatewayLocked: settings.locks['organization.gateway'],
    connected: isConnected(),
    identityKey: identity?.chain?.identity.identityKey ?? null,
    removed: removedReason(),
  };
}

/**
 * The gateway this browser enrolls or links with (the policy's wins) and its signed manifest,
 * which names the org and the key every certificate must chain to.
 */
export async function enrollingGateway(typedGateway: string | undefined) {
  const settings = effectiveSettings(getPolicy().policy, await getUserSettings());
  const gatewayUrl = (
    settings.locks['organization.gateway'] ? settings.organization.gateway : (typedGateway ?? settings.organization.gateway)
  )?.replace(/\/$/, '');
  if (!gatewayUrl || !isGatewayUrl(gatewayUrl)) throw new KontorError('invalid_params', 'enter your company gateway address (https://…)');
  await openEngine();
  const { identity, meta } = engineState();
  if (identity?.certificate && meta) throw new KontorError('conflict', 'this browser is already enrolled');
  // The gateway's signed manifest names the org and its key; the certificate must chain to it.
  let manifest;
  try {
    const r = await fetchJson(gatewayUrl + MANIFEST_PATH, {
      maxBytes: MANIFEST_MAX_BYTES,
      init: { credentials: 'omit', cache: 'no-store' },
    });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    manifest = await verifyManifest(r.json);
  } catch (error) {
    throw new KontorError('unavailable', `no valid Kontor gateway at ${gatewayUrl}`, { cause: error });
  }
  const policyDomain = settings.organization.domain;
  if (policyDomain && normalizeDomain(policyDomain) !== manifest.domain)
    throw new KontorError('forbidden', `the gateway belongs to ${manifest.domain}, not ${policyDomain}`);
  return { gatewayUrl, manifest };
}

/** Enrolls this browser with a one-time code from the admin. The policy's gateway wins. */
export async function enrollDevice(typedGateway: string | undefined, code: string): Promise<ChannelIdentity> {
  const { gatewayUrl, manifest } = await enrollingGateway(typedGateway);
  const { identity } = engineState();
  const employeeKey = identity!.employeeKey;
  const attempt = (withIdentity: boolean) =>
    enroll({
      gatewayUrl,
      domain: manifest.domain,
      code: code.trim(),
      mlsSignatureKey: identity!.mlsSignaturePublicB64,
      signWithMlsKey: (data) => signWithSignatureKey(identity!.mlsSignature.signKey, data),
      deviceKey: identity!.deviceKey,
      orgPublicKey: manifest.orgPublicKey,
      // the employee identity this device created: the org certifies it on the employee's first device
      ...(withIdentity && employeeKey
        ? {
            identity: {
              publicKeyB64: toBase64(employeeKey.publicKey),
              sign: (d: Uint8Array) => signWithSignatureKey(employeeKey.signKey, d),
            },
          }
        : {}),
    });
  // An employee who already has an identity gets this browser certified by the org alone (the
  // code is not used up by the refusal): partners see it as such until it is linked.
  const { certificate, identity: identityCertificate } = await attempt(true)
    .catch((error: unknown) => {
      if (error instanceof WireError && error.code === 'conflict' && /already has an identity/.test(error.message)) return attempt(false);
      throw error;
    })
    .catch((error: unknown) => {
      throw new KontorError('forbidden', `enrollment refused: ${error instanceof Error ? error.message : String(error)}`);
    });
  await saveEnrollment(certificate, identityCertificate, {
    gatewayUrl,
    domain: manifest.domain,
    orgName: manifest.orgName,
    orgPublicKey: manifest.orgPublicKey,
  });
  await connect();
  return channelIdentity();
}
