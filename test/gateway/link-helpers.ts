/**
 * Linking in gateway tests beyond link.test.ts (the cluster): a device enrolled with an
 * identity key, keys for the new browser, and the grant A sends it (endorsed by the identity).
 */
import WebSocket from 'ws';
import { enroll, fetchManifest, KontorClient } from '../../src/wire/client';
import { generateKeyPair, sign, type Ed25519KeyPair } from '../../src/wire/ed25519';
import { randomBytes, toBase64 } from '../../src/wire/bytes';
import type { Certificate } from '../../src/wire/certificate';
import { ENDORSEMENT_TYPE, signEndorsement, type IdentityCertificate } from '../../src/wire/identity';
import type { NewDeviceKeys } from '../../src/wire/link-flow';
import type { LinkGrant } from '../../src/wire/link';
import { mlsKeyOptions } from './helpers';

export interface EnrolledWithIdentity {
  client: KontorClient;
  certificate: Certificate;
  identity: IdentityCertificate;
  identityKey: Ed25519KeyPair;
  orgKey: string;
}

/** Enrolls through `gatewayUrl` with a code from `code()`, certifying a new identity key; connects to `connectUrl`. */
export async function enrollWithIdentity(o: {
  gatewayUrl: string;
  domain: string;
  code: () => Promise<string>;
  connectUrl?: string;
}): Promise<EnrolledWithIdentity> {
  const orgKey = (await fetchManifest(o.domain, { baseUrl: o.gatewayUrl })).orgPublicKey;
  const [mls, id] = await Promise.all([generateKeyPair(), generateKeyPair(true)]);
  const r = await enroll({
    gatewayUrl: o.gatewayUrl,
    domain: o.domain,
    code: await o.code(),
    ...mlsKeyOptions(mls),
    orgPublicKey: orgKey,
    identity: { publicKeyB64: id.publicKeyB64, sign: (d) => sign(id.privateKey, d) },
  });
  const client = await KontorClient.connect({
    gatewayUrl: o.connectUrl ?? o.gatewayUrl,
    certificate: r.certificate,
    deviceKey: r.deviceKey.privateKey,
    WebSocket: WebSocket as never,
  });
  return { client, certificate: r.certificate, identity: r.identity!, identityKey: id, orgKey };
}

/** The new browser's device and MLS keys, with the signers its link request needs. */
export async function newLinkKeys(): Promise<{ keys: NewDeviceKeys; device: Ed25519KeyPair }> {
  const [device, mls] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  return {
    device,
    keys: {
      devicePublicKey: device.publicKeyB64,
      mlsSignatureKey: mls.publicKeyB64,
      signWithDeviceKey: (d) => sign(device.privateKey, d),
      signWithMlsKey: (d) => sign(mls.privateKey, d),
    },
  };
}

/** What A sends B once the gateway certified it: B's certificate endorsed by A's identity key. */
export async function grantFor(a: EnrolledWithIdentity, certificate: Certificate, historyChunks = 0): Promise<LinkGrant> {
  const endorsement = await signEndorsement(
    {
      type: ENDORSEMENT_TYPE,
      v: 1,
      employeeId: certificate.employeeId,
      orgDomain: a.identity.orgDomain,
      identityKey: a.identity.identityKey,
      deviceId: certificate.deviceId,
      devicePublicKey: certificate.devicePublicKey,
      mlsSignatureKey: certificate.mlsSignatureKey,
      linkedBy: a.certificate.deviceId,
      issuedAt: certificate.issuedAt,
    },
    (d) => sign(a.identityKey.privateKey, d),
  );
  return {
    certificate,
    identity: a.identity,
    endorsement,
    identityKeyPair: toBase64(randomBytes(64)),
    orgName: 'Acme',
    linkedFrom: 'Lena’s laptop',
    historyChunks,
  };
}
