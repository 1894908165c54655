/** Database rows to the Store's records, shared by the SQLite and PostgreSQL stores (same column names). */
import type { InboxEntry } from '../../wire/protocol';
import type { Delivery, DeviceRecord, ReceiptItem } from './types';

type Row = Record<string, unknown>;

export function toEntry(r: Row): InboxEntry {
  const e: InboxEntry = {
    id: r.id as number,
    kind: r.kind as InboxEntry['kind'],
    conversationId: r.conv_id as string,
    hub: r.hub as string,
    seq: r.seq as number,
    messageId: r.message_id as string,
    epoch: r.epoch as number,
    sender: r.sender as string,
    receivedAt: r.created_at as number,
  };
  // stored as bytes (SQLite schema 3, PostgreSQL bytea), sent as base64
  if (r.payload !== null) e.payload = (r.payload as Buffer).toString('base64');
  if (r.receipt_status !== null) {
    e.receipt = {
      status: r.receipt_status as 'partner' | 'delivered',
      by: r.receipt_by as string,
      messageIds: JSON.parse(r.receipt_ids as string),
    };
  }
  return e;
}

export function toDevice(r: Row): DeviceRecord {
  return {
    deviceId: r.device_id as string,
    employeeId: r.employee_id as string,
    displayName: r.display_name as string,
    devicePublicKey: r.device_public_key as string,
    mlsSignatureKey: r.mls_signature_key as string,
    certificate: JSON.parse(r.certificate as string),
    createdAt: r.created_at as number,
    revokedAt: (r.revoked_at as number | null) ?? null,
  };
}

/** The inbox entry a stored delivery from another hub becomes. */
export function deliveryEntry(id: number, d: Delivery, now: number): InboxEntry {
  const { conversationId, hub, seq, messageId, kind, epoch, sender, payload } = d;
  return { id, kind, conversationId, hub, seq, messageId, epoch, sender, payload, receivedAt: now };
}

/** The inbox entry a stored receipt becomes. */
export function receiptEntry(id: number, i: ReceiptItem, now: number): InboxEntry {
  const { conversationId, hub, seq, messageId, sender, status, by, messageIds } = i;
  return {
    id,
    kind: 'receipt',
    conversationId,
    hub,
    seq,
    messageId,
    epoch: 0,
    sender,
    receipt: { status, by, messageIds },
    receivedAt: now,
  };
}
