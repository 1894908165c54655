/**
 * Gateway-to-gateway bodies (POST /v1/fed/*) and their answers. Both directions are checked
 * against these schemas: a peer's request before it is acted on, a peer's answer before it
 * is passed on to a device.
 */
import * as v from 'valibot';
import { Certificate } from './certificate';
import { LIMITS, SendParams } from './protocol';
import { DeviceAddress, Domain, Ident, Opaque } from './schemas';
import { DeviceRevocation } from './identity';

/** a federation request body, at most (a delivery batch of up to 1000 items) */
export const FED_BODY_MAX_BYTES = LIMITS.bodyBytes * 8;

/**
 * A peer is named by a public DNS name: no IP literal (the Domain schema wants a TLD that
 * starts with a letter), no single label, nothing under `localhost`. A peer named so can
 * still resolve to a private address: the gateway checks that when it connects.
 */
export function isPeerName(name: string): boolean {
  return v.is(Domain, name) && name !== 'localhost' && !name.endsWith('.localhost') && !name.endsWith('.local');
}
export const PeerName = v.pipe(v.string(), v.check(isPeerName, 'must be a public DNS name'));

const Seq = v.pipe(v.number(), v.integer(), v.minValue(1));

export const FedSubmit = v.strictObject({ sender: DeviceAddress, params: SendParams });
export type FedSubmit = v.InferOutput<typeof FedSubmit>;

export const FedItem = v.variant('type', [
  v.strictObject({
    type: v.literal('deliver'),
    conversationId: Ident,
    hub: Domain,
    seq: Seq,
    messageId: Ident,
    kind: v.picklist(['commit', 'welcome', 'application']),
    epoch: v.pipe(v.number(), v.integer(), v.minValue(0)),
    sender: DeviceAddress,
    payload: SendParams.entries.payload,
    recipients: v.pipe(v.array(Ident), v.maxLength(LIMITS.membersPerConversation)),
  }),
  v.strictObject({
    type: v.literal('receipt'),
    conversationId: Ident,
    hub: Domain,
    seq: Seq,
    messageId: Ident,
    sender: DeviceAddress,
    status: v.picklist(['partner', 'delivered']),
    by: v.pipe(v.string(), v.maxLength(320)),
    messageIds: v.pipe(v.array(Ident), v.minLength(1), v.maxLength(1000)),
  }),
]);
export const FedDeliver = v.strictObject({ items: v.pipe(v.array(FedItem), v.minLength(1), v.maxLength(1000)) });
export type FedDeliver = v.InferOutput<typeof FedDeliver>;

export const FedClaim = v.strictObject({ contact: Ident });
export type FedClaim = v.InferOutput<typeof FedClaim>;

/**
 * Which of these devices of the answering org are revoked. The asker names devices it already
 * shares conversations with, so the answer tells it nothing about other employees.
 */
export const FedRevocations = v.strictObject({
  devices: v.pipe(v.array(Ident), v.minLength(1), v.maxLength(LIMITS.revocationQuery)),
});
export type FedRevocations = v.InferOutput<typeof FedRevocations>;

// ---- answers ------------------------------------------------------------------------------
export const FedDeliverReply = v.object({ stored: v.pipe(v.number(), v.integer(), v.minValue(0)) });
export const FedSubmitReply = v.object({ seq: Seq, hub: v.optional(Domain), duplicate: v.optional(v.boolean()) });
export const ClaimedKeyPackage = v.strictObject({
  certificate: Certificate,
  keyPackage: Opaque(LIMITS.keyPackageBytes),
  lastResort: v.boolean(),
});
export const FedClaimReply = v.object({ devices: v.pipe(v.array(ClaimedKeyPackage), v.maxLength(LIMITS.membersPerConversation)) });
export const FedRevocationsReply = v.object({
  revocations: v.pipe(v.array(DeviceRevocation), v.maxLength(LIMITS.revocationQuery)),
});
export const FedErrorReply = v.object({
  error: v.object({
    code: v.pipe(v.string(), v.maxLength(64)),
    message: v.pipe(
      v.string(),
      v.transform((s) => s.slice(0, 200)),
    ),
    currentEpoch: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  }),
});
