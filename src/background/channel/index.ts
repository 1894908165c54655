/**
 * The private channel's cryptographic core (background context only). See
 * docs/channel.md and the JSDoc on each export.
 */
export { ChannelEngine, type ChannelEngineOptions, type Target, type AddResult } from './conversation';
export type { ChannelEvent, MessageView, MessageBody, Person, Verification, ChannelEventKind } from './context';
export {
  CredentialError,
  checkCredential,
  checkMember,
  readCredential,
  readChain,
  certificateCredential,
  chainCredential,
  kontorAuthService,
  type OrgKeyLookup,
  type CredentialErrorCode,
} from './credentials';
export {
  Payload,
  PayloadError,
  decodePayload,
  encodePayload,
  textPayload,
  newMessageId,
  MAX_PAYLOAD_BYTES,
  MAX_TEXT_CHARS,
} from './payload';
export {
  openChannelDb,
  MIGRATIONS,
  SCHEMA_VERSION,
  DEFAULT_DB_NAME,
  type ChannelDb,
  type ConversationStatus,
  type DeliveryState,
} from './db';
export { Keystore, SealError } from './keystore';
export { loadOrCreateIdentity, saveCertificate, createKeyPackages, credentialOf, IdentityError, type Identity } from './identity';
export { gatewayTransport, TransportError, type Transport } from './transport';
export { MlsOpError, CIPHERSUITE } from './mls';
