/**
 * The one message protocol between Kontor's extension contexts (content script, popup,
 * side panel, options page -> background). Each request kind has a runtime schema for its
 * params, a trust tier and a typed result. The background validates every payload against
 * these schemas before a handler sees it (src/background/dispatcher.ts).
 *
 * Trust tiers: `content` kinds may be sent by content scripts running inside web pages
 * (which a hostile page can influence), so they are few and carry nothing secret.
 * `extension` kinds are accepted only from Kontor's own pages.
 */
import * as v from 'valibot';
import { CategorySchema, type Category } from './blocking/categories';

export type Tier = 'content' | 'extension';

const HttpUrl = v.pipe(v.string(), v.maxLength(2048), v.url(), v.regex(/^https?:\/\//i, 'must be an http(s) URL'));
const TabId = v.pipe(v.number(), v.integer(), v.minValue(0));
const Empty = v.strictObject({});
const DomainParam = v.pipe(v.string(), v.minLength(1), v.maxLength(253));
/** A conversation id as every kind takes it: the pattern also caps it at 64 characters. */
export const ConversationId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/));
/**
 * Longest message text, in UTF-16 code units: what the composer may send and what a received
 * payload may carry. At worst 6 bytes per unit once JSON-escaped (a control character becomes
 * `\u0001`), so any text this long still fits the 64 KiB payload cap (channel/payload.ts).
 */
export const MAX_TEXT_CHARS = 8000;

export const protocol = {
  /** Health and identity of the background, used by every UI on open. */
  'app.status': { tier: 'extension', params: Empty },
  /**
   * Content script (partner pages only): "this page finished loading". The background judges
   * the page by the sender's URL as the browser reports it; `url` is validated, not believed.
   */
  'page.detect': { tier: 'content', params: v.strictObject({ url: HttpUrl }) },
  /** UI: the state Kontor keeps for one tab (what was seen there). */
  'tab.state': { tier: 'extension', params: v.strictObject({ tabId: TabId }) },
  'policy.state': { tier: 'extension', params: Empty },
  'partners.list': { tier: 'extension', params: Empty },
  'partners.add': { tier: 'extension', params: v.strictObject({ domain: DomainParam }) },
  'partners.remove': { tier: 'extension', params: v.strictObject({ domain: DomainParam }) },
  'partners.refresh': { tier: 'extension', params: v.strictObject({ domain: DomainParam }) },
  'partners.acceptKey': { tier: 'extension', params: v.strictObject({ domain: DomainParam }) },
  /** UI: the employee chose "Start private contact" with this partner (side panel picks it up). */
  'contact.request': { tier: 'extension', params: v.strictObject({ domain: DomainParam }) },
  'contact.pending': { tier: 'extension', params: Empty },
  // --- channel ---
  'channel.identity': { tier: 'extension', params: Empty },
  'channel.enroll': {
    tier: 'extension',
    params: v.strictObject({ gatewayUrl: v.optional(HttpUrl), code: v.pipe(v.string(), v.trim(), v.minLength(4), v.maxLength(128)) }),
  },
  'channel.start': {
    tier: 'extension',
    params: v.strictObject({ domain: DomainParam, contact: v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)) }),
  },
  'channel.list': { tier: 'extension', params: Empty },
  'channel.view': { tier: 'extension', params: v.strictObject({ conversationId: ConversationId }) },
  'channel.send': {
    tier: 'extension',
    params: v.strictObject({ conversationId: ConversationId, text: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_TEXT_CHARS)) }),
  },
  'channel.read': { tier: 'extension', params: v.strictObject({ conversationId: ConversationId }) },
  /** Adds new colleagues of the partner contact and removes devices no longer there. */
  'channel.syncMembers': { tier: 'extension', params: v.strictObject({ conversationId: ConversationId }) },
  /** Re-adds a member device that lost sync (a fresh key package of the same device, and a Welcome). */
  'channel.readd': {
    tier: 'extension',
    params: v.strictObject({ conversationId: ConversationId, address: v.pipe(v.string(), v.maxLength(320), v.regex(/^[^@\s]+@[^@\s]+$/)) }),
  },
  /** A member accepts a device that membership sync held (issue 15: org-only or a reset identity). */
  'channel.acceptDevice': {
    tier: 'extension',
    params: v.strictObject({ conversationId: ConversationId, address: v.pipe(v.string(), v.maxLength(320), v.regex(/^[^@\s]+@[^@\s]+$/)) }),
  },
  /** This employee's devices (issue 15): from the own gateway, with how each was added. */
  'channel.devices': { tier: 'extension', params: Empty },
  /** Revokes another device of this employee: a statement signed by the identity key, to the gateway and every conversation. */
  'channel.revokeDevice': { tier: 'extension', params: v.strictObject({ deviceId: ConversationId }) },
  // linking a browser (issue 15): the new browser shows a code, the enrolled one takes it
  'channel.linkStart': { tier: 'extension', params: v.strictObject({ gatewayUrl: v.optional(HttpUrl) }) },
  'channel.linkStatus': { tier: 'extension', params: Empty },
  'channel.linkJoin': {
    tier: 'extension',
    params: v.strictObject({ code: v.pipe(v.string(), v.trim(), v.minLength(10), v.maxLength(32)) }),
  },
  'channel.linkConfirm': { tier: 'extension', params: v.strictObject({ history: v.boolean() }) },
  'channel.linkCancel': { tier: 'extension', params: Empty },
  // --- end channel ---
  // --- blocking ---
  /** UI: what Kontor blocked on this tab's site, and whether blocking is paused or locked there. */
  'blocking.state': { tier: 'extension', params: v.strictObject({ tabId: TabId }) },
  /** UI: "Pause on this site" (an allowAllRequests rule for the site); refused when the policy locks blocking. */
  'blocking.pause': { tier: 'extension', params: v.strictObject({ site: DomainParam }) },
  'blocking.resume': { tier: 'extension', params: v.strictObject({ site: DomainParam }) },
  'blocking.settings': { tier: 'extension', params: Empty },
  'blocking.setCategory': {
    tier: 'extension',
    params: v.strictObject({ category: CategorySchema, enabled: v.boolean() }),
  },
  // --- end blocking ---
  /** UI, when the employee opens the popup: read this tab's public signals (nothing is fetched). */
  'discovery.inspect': { tier: 'extension', params: v.strictObject({ tabId: TabId }) },
} as const satisfies Record<string, { tier: Tier; params: v.GenericSchema }>;

export type Kind = keyof typeof protocol;
export type Params<K extends Kind> = v.InferOutput<(typeof protocol)[K]['params']>;

export interface AppStatus {
  version: string;
  browser: 'chromium' | 'firefox';
  language: string;
  startedAt: number;
}

export type VerificationState = 'pinned-policy' | 'pinned-tofu' | 'unverified';

export interface PartnerView {
  domain: string;
  name: string;
  source: 'policy' | 'user';
  state: VerificationState;
  /** Pinned org-key fingerprint, as shown to people. */
  fingerprint: string | null;
  /** Canonical profile URLs (see partners/profiles.ts). */
  profiles: string[];
  contacts: { id: string; name: string }[];
  gatewayUrl: string | null;
  /** A manifest with a different key was seen: no channel until confirmed. */
  keyWarning: { pinned: string; seen: string } | null;
  manifest: 'valid' | 'missing' | 'expired';
}

export interface TabState {
  tabId: number;
  url: string | null;
  match: { partner: PartnerView; via: 'domain' | 'profile' } | null;
  /** A page signal pointing at a partner that the partner has not confirmed: unverified. */
  hint: { domain: string; name: string; reason: 'unconfirmed-profile' } | null;
}

export interface PolicyStateView {
  managed: boolean;
  problems: { path: string; message: string }[];
  /** Setting keys the policy fixed ("set by your organisation"). */
  locks: string[];
}

// --- channel ---
export interface ChannelIdentity {
  enrolled: boolean;
  displayName: string | null;
  employeeId: string | null;
  orgDomain: string | null;
  orgName: string | null;
  gatewayUrl: string | null;
  /** the gateway is set by the organisation's policy */
  gatewayLocked: boolean;
  connected: boolean;
  /** the employee identity key this browser's chain (org → identity → device) names; null while certified by the org alone */
  identityKey: string | null;
  /** the own gateway refused this browser because it was revoked (its refusal, e.g. "device revoked"); null otherwise */
  removed: string | null;
}

export interface PersonView {
  displayName: string;
  orgDomain: string;
  employeeId: string;
  deviceId: string;
  /** the device of the same employee that linked this one in (issue 15), when known */
  linkedBy?: string | null;
  /** that device's label ("Chromium on Linux"), when this browser knows it (issue 15) */
  linkedByLabel?: string | null;
}

/** Linking a browser (docs/channel.md "Linking a device"): the new browser's or the linking browser's side. */
export interface LinkStatus {
  role: 'new' | 'linking' | null;
  stage: 'idle' | 'waiting' | 'compare' | 'sending' | 'done' | 'failed';
  /** the new browser: the code it shows */
  code: string | null;
  /** both: the short authentication string the employee compares */
  sas: string | null;
  error: string | null;
  /** the new browser: the label of the browser that linked it */
  linkedFrom: string | null;
  /** conversations whose history was transferred */
  transferred: number;
  /** the linking browser: devices it added to its conversations */
  added: number;
  /** the new browser: partners it now knows because the linking browser had pinned them */
  partners: number;
  /** the new browser: partners for which the linking browser sent another key than the one kept here */
  pinConflicts: { domain: string; pinned: string; transferred: string }[];
}

export type DeliveryStateView = 'queued' | 'sent' | 'partner' | 'delivered' | null;

export interface ChannelMessageView {
  id: string;
  at: number;
  direction: 'in' | 'out';
  state: DeliveryStateView;
  sender: PersonView;
  text: string | null;
  /** history the linking browser sent when this one was linked (issue 15), not received here */
  transferred?: boolean;
  /** detail: for 'held', why (HoldReason) */
  event: { kind: string; who: PersonView[]; detail?: string | null } | null;
}

export interface ConversationSummary {
  id: string;
  title: string;
  partnerDomain: string | null;
  contact: string | null;
  unread: number;
  lastActivity: number;
  status: string;
  warning: string | null;
}

/** One of this employee's devices: 'first' created the identity, 'linked' was signed in by `linkedBy`, 'org_only' by the org alone. */
export interface OwnDeviceView {
  deviceId: string;
  enrolledAt: string;
  origin: 'first' | 'linked' | 'org_only' | 'unknown';
  linkedBy: string | null;
  /** this device's label, and that of the device that linked it in, when known here (issue 15) */
  label: string | null;
  linkedByLabel: string | null;
  self: boolean;
}

export interface ConversationDetail extends ConversationSummary {
  verified: boolean;
  partnerState: VerificationState | null;
  fingerprint: { epoch: number; digits: string };
  members: (PersonView & { verified: boolean; self: boolean })[];
  /** devices membership sync found but did not add (issue 15), with why: 'org_only' | 'identity_changed' */
  held: (PersonView & { reason: string; identityFingerprint: string | null; previousFingerprint: string | null })[];
  messages: ChannelMessageView[];
}
// --- end channel ---

// --- blocking ---
export type BlockingCategory = Category;

/** Blocked requests of one tab's current page, grouped for the popup. */
export interface BlockingState {
  tabId: number;
  /** Host of the tab's top-level page, or null for non-web pages. */
  site: string | null;
  total: number;
  /** Categories in descending count; `other` = blocked by a list, company and category unknown. */
  categories: {
    category: BlockingCategory | 'other';
    count: number;
    companies: { name: string | null; count: number; hosts: string[] }[];
  }[];
  paused: boolean;
  /** The policy forbids pausing (blocking.locked). */
  locked: boolean;
}

export interface BlockingSettingsView {
  categories: { category: BlockingCategory; enabled: boolean; locked: boolean }[];
  /** Pausing is refused by policy. */
  pauseLocked: boolean;
  paused: string[];
}
// --- end blocking ---

export interface Discovery {
  domain: string;
  /** The manifest URL the site itself points to, if any. */
  manifestUrl: string | null;
  /** Whether the company is already a partner. */
  partner: boolean;
  /** A page signal pointing at a partner that has not claimed this page: unverified. */
  hint: TabState['hint'];
  /** Whether the popup may say that a non-partner accepts contact (policy discovery.offerNonPartners). */
  offer: boolean;
}

export interface Results {
  'app.status': AppStatus;
  'page.detect': { partner: boolean };
  'tab.state': TabState;
  'policy.state': PolicyStateView;
  'partners.list': { partners: PartnerView[]; canAdd: boolean };
  'partners.add': PartnerView;
  'partners.remove': { removed: true };
  'partners.refresh': PartnerView;
  'partners.acceptKey': PartnerView;
  'discovery.inspect': Discovery;
  'contact.request': { partner: PartnerView };
  'channel.identity': ChannelIdentity;
  'channel.enroll': ChannelIdentity;
  'channel.start': { conversationId: string; added: number; rejected: string[] };
  'channel.list': { conversations: ConversationSummary[] };
  'channel.view': ConversationDetail;
  'channel.send': ChannelMessageView;
  'channel.read': { read: true };
  'channel.syncMembers': { added: number; removed: number };
  'channel.readd': { added: number };
  'channel.acceptDevice': { added: number };
  'channel.devices': { devices: OwnDeviceView[] };
  'channel.revokeDevice': { revoked: string; conversations: number };
  'channel.linkStart': LinkStatus;
  'channel.linkStatus': LinkStatus;
  'channel.linkJoin': LinkStatus;
  'channel.linkConfirm': LinkStatus;
  'channel.linkCancel': LinkStatus;
  'contact.pending': { partner: PartnerView | null };
  // --- blocking ---
  'blocking.state': BlockingState;
  'blocking.pause': { site: string; paused: true };
  'blocking.resume': { site: string; paused: false };
  'blocking.settings': BlockingSettingsView;
  'blocking.setCategory': BlockingSettingsView;
  // --- end blocking ---
}

export type ErrorCode =
  | 'bad_request'
  | 'unknown_kind'
  | 'invalid_params'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unavailable'
  | 'internal';

/** What goes over `runtime.sendMessage`. The marker keeps foreign messages out. */
export interface Envelope<K extends Kind = Kind> {
  kontor: 1;
  kind: K;
  params: Params<K>;
}

export type Reply<K extends Kind = Kind> = { ok: true; result: Results[K] } | { ok: false; error: { code: ErrorCode; message: string } };

/** Kinds a content script may send; everything else needs an extension page. */
export const contentKinds: ReadonlySet<Kind> = new Set((Object.keys(protocol) as Kind[]).filter((k) => protocol[k].tier === 'content'));
