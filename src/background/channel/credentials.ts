/**
 * Kontor's own MLS authentication service. ts-mls accepts any credential by default; here a
 * member's basic credential must carry a device certificate that chains to the org key pinned
 * for its org domain, is unexpired, and names the very signature key of the leaf. This is what
 * catches a gateway injecting its own key packages (docs/security.md: partner company gateway row).
 *
 * A credential is either that bare certificate (a device certified by the org alone, which
 * the org's gateway could have made itself) or the chain org → employee identity → device
 * (wire/identity.ts). Both pass MLS validation; whether a device may join a conversation
 * without a member's say is decided on top, from the identity (admission.ts).
 */
import * as v from 'valibot';
import type { AuthenticationService, Credential } from 'ts-mls';
import { Certificate, CertificateError, verifyCertificate } from '../../wire/certificate';
import { CHAIN_TYPE, CredentialChain, IdentityChainError, verifyChain } from '../../wire/identity';
import { canonicalize } from '../../wire/canonical';
import { equalBytes, fromBase64, fromUtf8, utf8 } from '../../wire/bytes';

/** base64 org public key pinned for a domain (own org or admitted partner), or null if none. */
export type OrgKeyLookup = (domain: string) => string | null | Promise<string | null>;

export type CredentialErrorCode =
  | 'not_basic'
  | 'malformed'
  | 'unknown_org'
  | 'bad_signature'
  | 'expired'
  | 'wrong_domain'
  | 'key_mismatch'
  | 'bad_identity';

export class CredentialError extends Error {
  override name = 'CredentialError';
  constructor(
    readonly code: CredentialErrorCode,
    message: string,
    /** the (unverified) certificate, when it could be parsed: lets the UI say who was claimed */
    readonly claimed?: { deviceId: string; displayName: string; orgDomain: string },
  ) {
    super(message);
  }
}

/** The credential a Kontor device puts in its key packages: the certificate as RFC 8785 JSON. */
export function certificateCredential(cert: Certificate): Credential {
  return { credentialType: 'basic', identity: utf8(canonicalize(cert)) };
}

/** The credential of a device with an employee identity: the chain as RFC 8785 JSON. */
export function chainCredential(chain: CredentialChain): Credential {
  return { credentialType: 'basic', identity: utf8(canonicalize(chain)) };
}

/** Parses certificate and chain (if any) out of a credential without verifying them. */
type ReadChain = { certificate: Certificate; chain: CredentialChain | null };
/**
 * Parsed credentials by their bytes' object: a member's leaf in the ratchet tree keeps its
 * credential from message to message, and each message's sender is read from it.
 */
const readChains = new WeakMap<Uint8Array, ReadChain>();

export function readChain(credential: Credential): ReadChain {
  if (credential.credentialType !== 'basic') throw new CredentialError('not_basic', 'credential is not a basic credential');
  const known = readChains.get(credential.identity);
  if (known) return known;
  const read = parseChain(credential.identity);
  readChains.set(credential.identity, read);
  return read;
}

function parseChain(identity: Uint8Array): ReadChain {
  let json: unknown;
  let text: string;
  try {
    text = fromUtf8(identity);
    json = JSON.parse(text);
  } catch {
    throw new CredentialError('malformed', 'credential is not a JSON certificate');
  }
  const isChain = typeof json === 'object' && json !== null && (json as { type?: unknown }).type === CHAIN_TYPE;
  const parsed = isChain ? v.safeParse(CredentialChain, json) : v.safeParse(Certificate, json);
  if (!parsed.success) throw new CredentialError('malformed', `credential certificate malformed: ${parsed.issues[0]?.message ?? ''}`);
  // canonical bytes only: one certificate has exactly one credential encoding
  if (canonicalize(parsed.output) !== text) throw new CredentialError('malformed', 'credential certificate is not canonical JSON');
  return isChain
    ? { certificate: (parsed.output as CredentialChain).device, chain: parsed.output as CredentialChain }
    : { certificate: parsed.output as Certificate, chain: null };
}

/** Parses the device certificate out of a credential without verifying it (display of unverified claims). */
export function readCredential(credential: Credential): Certificate {
  return readChain(credential).certificate;
}

export interface CheckOptions {
  orgKeyFor: OrgKeyLookup;
  now?: () => Date;
  /** when adding from a claim at a given org, the certificate must name that org */
  expectDomain?: string;
}

/** A verified member: its device certificate, and its identity key when the device has a chain. */
export interface CheckedMember {
  certificate: Certificate;
  identity: { key: string; issuedAt: string; linkedBy: string | null } | null;
}

/**
 * Verifies a member credential against its leaf signature key. Returns the certificate.
 * @example const cert = await checkCredential(leaf.credential, leaf.signaturePublicKey, { orgKeyFor });
 */
export async function checkCredential(credential: Credential, signaturePublicKey: Uint8Array, o: CheckOptions): Promise<Certificate> {
  return (await checkMember(credential, signaturePublicKey, o)).certificate;
}

/** checkCredential, also verifying and returning the identity half of a chain. */
export async function checkMember(credential: Credential, signaturePublicKey: Uint8Array, o: CheckOptions): Promise<CheckedMember> {
  const { certificate: cert, chain } = readChain(credential);
  const claimed = { deviceId: cert.deviceId, displayName: cert.displayName, orgDomain: cert.orgDomain };
  if (o.expectDomain !== undefined && cert.orgDomain !== o.expectDomain) {
    throw new CredentialError('wrong_domain', `certificate is for ${cert.orgDomain}, expected ${o.expectDomain}`, claimed);
  }
  const orgKey = await o.orgKeyFor(cert.orgDomain);
  if (!orgKey) throw new CredentialError('unknown_org', `no pinned org key for ${cert.orgDomain}`, claimed);
  const now = o.now?.() ?? new Date();
  try {
    await verifyCertificate(cert, orgKey, { domain: cert.orgDomain, now });
    if (chain) await verifyChain(chain, orgKey, now);
  } catch (e) {
    if (e instanceof CertificateError) throw new CredentialError(e.code, e.message, claimed);
    if (e instanceof IdentityChainError) throw new CredentialError('bad_identity', `identity chain: ${e.message}`, claimed);
    throw e;
  }
  if (!equalBytes(fromBase64(cert.mlsSignatureKey), signaturePublicKey)) {
    throw new CredentialError('key_mismatch', 'certificate names another MLS signature key than the leaf', claimed);
  }
  const identity = chain
    ? { key: chain.identity.identityKey, issuedAt: chain.identity.issuedAt, linkedBy: chain.endorsement.linkedBy }
    : null;
  return { certificate: cert, identity };
}

/**
 * An AuthenticationService for ts-mls. ts-mls only sees true/false, so the typed reason of the
 * last rejection is kept in `failures` for the caller to rethrow.
 */
export function kontorAuthService(o: CheckOptions): { service: AuthenticationService; failures: CredentialError[] } {
  const failures: CredentialError[] = [];
  return {
    failures,
    service: {
      async validateCredential(credential, signaturePublicKey) {
        try {
          await checkCredential(credential, signaturePublicKey, { orgKeyFor: o.orgKeyFor, now: o.now });
          return true;
        } catch (e) {
          if (e instanceof CredentialError) {
            failures.push(e);
            return false;
          }
          throw e;
        }
      },
    },
  };
}
