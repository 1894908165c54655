/**
 * Every record Kontor keeps in `storage.local` and `storage.session`: its area, its key (or key
 * prefix, for one record per tab, domain or conversation), its schema, and what a missing or
 * unusable record reads as. Keys are namespaced by the feature that owns them
 * (`partners:`, `channel:`, `blocking:`, `contact:`); migrations.ts moves older keys here.
 */
import * as v from 'valibot';
import { CATEGORIES, type Category } from '../../shared/blocking/categories';
import { LIMITS } from '../../shared/policy/schema';
import type { PartnerView, TabState } from '../../shared/protocol';
import { Manifest } from '../../wire/manifest';

export type AreaName = 'local' | 'session';

export interface SingleRecord<S extends v.GenericSchema = v.GenericSchema, F = unknown> {
  readonly area: AreaName;
  readonly key: string;
  readonly schema: S;
  /** What an absent or unrepairable record reads as. */
  readonly fallback: () => F;
}

export interface RecordFamily<S extends v.GenericSchema = v.GenericSchema> {
  readonly area: AreaName;
  /** The key of entry `id` is `prefix + id`. */
  readonly prefix: string;
  readonly schema: S;
}

const single = <S extends v.GenericSchema, F>(area: AreaName, key: string, schema: S, fallback: () => F): SingleRecord<S, F> => ({
  area,
  key,
  schema,
  fallback,
});
const family = <S extends v.GenericSchema>(area: AreaName, prefix: string, schema: S): RecordFamily<S> => ({ area, prefix, schema });

const Bool = v.boolean();
const Time = v.number();
const Str = v.string();

// --- the employee's settings ---
const CategorySwitches = Object.fromEntries(CATEGORIES.map((c) => [c, v.optional(Bool)])) as Record<
  Category,
  v.OptionalSchema<typeof Bool, undefined>
>;
export const SettingsSchema = v.object({
  // Written for builds before the storage version existed; they dropped a record without it.
  version: v.optional(v.literal(1)),
  categories: v.optional(v.object(CategorySwitches)),
  gateway: v.optional(v.pipe(v.string(), v.url())),
  offerNonPartners: v.optional(Bool),
  retentionDays: v.optional(v.pipe(v.number(), v.integer(), v.minValue(LIMITS.retentionDaysMin), v.maxValue(LIMITS.retentionDaysMax))),
});

// --- partners ---
const UserPartners = v.array(v.object({ domain: Str, addedAt: Time }));
const Pins = v.record(Str, Str);
const KeyWarnings = v.record(Str, v.object({ pinned: Str, seen: Str, seenAt: Time }));
export const DirectorySchema = v.object({
  user: v.optional(UserPartners, (): v.InferOutput<typeof UserPartners> => []),
  /** Trust-on-first-use pins, by domain (fingerprints as shown). */
  pins: v.optional(Pins, (): v.InferOutput<typeof Pins> => ({})),
  /** A manifest with another key than the pinned one was seen. */
  warnings: v.optional(KeyWarnings, (): v.InferOutput<typeof KeyWarnings> => ({})),
});
type Directory = v.InferOutput<typeof DirectorySchema>;

export const CachedManifestSchema = v.object({ manifest: Manifest, fingerprint: Str, fetchedAt: Time, expiresAt: Time });

const PartnerViewSchema = v.object({
  domain: Str,
  name: Str,
  source: v.picklist(['policy', 'user']),
  state: v.picklist(['pinned-policy', 'pinned-tofu', 'unverified']),
  fingerprint: v.nullable(Str),
  profiles: v.array(Str),
  contacts: v.array(v.object({ id: Str, name: Str })),
  gatewayUrl: v.nullable(Str),
  keyWarning: v.nullable(v.object({ pinned: Str, seen: Str })),
  manifest: v.picklist(['valid', 'missing', 'expired']),
});
export const TabStateSchema = v.object({
  tabId: v.number(),
  url: v.nullable(Str),
  match: v.nullable(v.object({ partner: PartnerViewSchema, via: v.picklist(['domain', 'profile']) })),
  hint: v.nullable(v.object({ domain: Str, name: Str, reason: v.literal('unconfirmed-profile') })),
});

// --- channel ---
export const ChannelMetaSchema = v.object({
  gatewayUrl: Str,
  domain: Str,
  orgName: Str,
  /** the own org key, pinned at enrollment from the gateway's signed manifest */
  orgPublicKey: Str,
});
export const ConversationMetaSchema = v.object({ partnerDomain: v.nullable(Str), contact: v.nullable(Str) });

// --- blocking ---
export const TabCountsSchema = v.object({ site: v.nullable(Str), since: Time, total: v.number(), hosts: v.record(Str, v.number()) });

export const RECORDS = {
  settings: single('local', 'settings', SettingsSchema, (): v.InferOutput<typeof SettingsSchema> => ({})),
  /** The last managed policy seen, raw (validated as policy when read). */
  policyCache: single('local', 'policy:last', v.record(Str, v.unknown()), () => undefined),
  directory: single('local', 'partners:directory', DirectorySchema, (): Directory => ({ user: [], pins: {}, warnings: {} })),
  channelMeta: single('local', 'channel:meta', ChannelMetaSchema, () => undefined),
  /** Labels of this employee's devices ("Chromium on Linux") by device id, as learned when linking (issue 15). */
  deviceLabels: single('local', 'channel:deviceLabels', v.record(Str, v.pipe(Str, v.maxLength(64))), (): Record<string, string> => ({})),
  paused: single('local', 'blocking:paused', v.array(v.pipe(Str, v.maxLength(253))), (): string[] => []),
  /** The partner the employee chose for "Start private contact"; the side panel asks for it. */
  contactPending: single('session', 'contact:pending', v.object({ domain: Str, at: Time }), () => undefined),
} as const;

export const FAMILIES = {
  manifest: family('local', 'partners:manifest:', CachedManifestSchema),
  partnerTab: family('session', 'partners:tab:', TabStateSchema),
  conversation: family('local', 'channel:conv:', ConversationMetaSchema),
  lastSync: family('local', 'channel:sync:', Time),
  blockingTab: family('session', 'blocking:tab:', TabCountsSchema),
} as const;

export type RecordName = keyof typeof RECORDS;
export type FamilyName = keyof typeof FAMILIES;
export type RecordValue<K extends RecordName> = v.InferOutput<(typeof RECORDS)[K]['schema']> | ReturnType<(typeof RECORDS)[K]['fallback']>;
export type EntryValue<F extends FamilyName> = v.InferOutput<(typeof FAMILIES)[F]['schema']>;

// The stored shapes must be the protocol's: a compile error here means they drifted apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameTab: Same<EntryValue<'partnerTab'>, TabState> = true;
const samePartner: Same<v.InferOutput<typeof PartnerViewSchema>, PartnerView> = true;
void sameTab;
void samePartner;
