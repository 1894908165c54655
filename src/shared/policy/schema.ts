/**
 * The enterprise policy model (issue 7): one flat-ish document an admin writes once and deploys
 * to every browser through managed storage. Every key is optional; Kontor applies what is valid
 * (see validate.ts). `assets/managed_schema.json` describes the same keys for Chrome, and a unit
 * test walks both so they cannot drift. Key by key documentation: docs/admin.md.
 */
import * as v from 'valibot';
import { CATEGORIES, type Category } from '../blocking/categories';
import { isGatewayUrl, isProfileUrl, normalizeDomain } from './domain';

/** Upper bounds keep a runaway policy from bloating memory and the DNR rule budget. */
export const LIMITS = {
  partners: 1000,
  profiles: 20,
  contacts: 50,
  domainList: 5000,
  retentionDaysMin: 1,
  retentionDaysMax: 3650,
} as const;

const Bool = v.boolean('must be true or false');

/** One optional switch per category; the walker needs the keys spelled out as entries. */
const CategorySwitches = Object.fromEntries(CATEGORIES.map((c) => [c, v.optional(Bool)])) as Record<
  Category,
  v.OptionalSchema<typeof Bool, undefined>
>;

/** A domain name, normalised (lowercase, punycode, no trailing dot); matches its subdomains. */
export const DomainSchema = v.pipe(
  v.string('must be a string'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const domain = normalizeDomain(dataset.value);
    if (domain === null) {
      addIssue({ message: `"${dataset.value}" is not a domain name (expected e.g. "globex.example")` });
      return NEVER;
    }
    return domain;
  }),
);

const GatewayUrl = v.pipe(
  v.string('must be a string'),
  v.check(
    isGatewayUrl,
    'must be an https:// URL without query or fragment (http:// only for localhost, 127.x.x.x, [::1] and *.test, *.example, *.localhost development hosts)',
  ),
);

const ProfileUrl = v.pipe(v.string('must be a string'), v.check(isProfileUrl, 'must be an https:// URL of a public profile page'));

/**
 * Org key fingerprint as the partner's gateway shows it. Kept liberal (hex with or without
 * separators, base64/base64url, an optional `algo:` prefix) because comparison happens against
 * the manifest's own fingerprint rendering.
 */
const Fingerprint = v.pipe(
  v.string('must be a string'),
  v.trim(),
  v.regex(/^[A-Za-z0-9:_+/=.-]{16,200}$/, 'must be a key fingerprint: 16 to 200 letters, digits or : _ + / = . -'),
);

const ShortText = (max: number) =>
  v.pipe(
    v.string('must be a string'),
    v.trim(),
    v.minLength(1, 'must not be empty'),
    v.maxLength(max, `must be at most ${max} characters`),
  );

const listOf = <T extends v.GenericSchema>(item: T, max: number) =>
  v.pipe(v.array(item, 'must be a list'), v.maxLength(max, `must have at most ${max} entries`));

/** A partner company fixed by the admin: pinned by policy (issue 5, source 1). */
export const PartnerSchema = v.object(
  {
    domain: DomainSchema,
    name: v.optional(ShortText(200)),
    orgKey: v.optional(Fingerprint),
    profiles: v.optional(listOf(ProfileUrl, LIMITS.profiles)),
    contacts: v.optional(listOf(ShortText(100), LIMITS.contacts)),
  },
  'must be an object like {"domain": "globex.example"}',
);

export const PolicySchema = v.object(
  {
    organization: v.optional(v.object({ domain: v.optional(DomainSchema), gateway: v.optional(GatewayUrl) }, 'must be an object')),
    partners: v.optional(listOf(PartnerSchema, LIMITS.partners)),
    blocking: v.optional(
      v.object(
        {
          categories: v.optional(v.object(CategorySwitches, 'must be an object of category switches')),
          locked: v.optional(Bool),
          blockDomains: v.optional(listOf(DomainSchema, LIMITS.domainList)),
          allowDomains: v.optional(listOf(DomainSchema, LIMITS.domainList)),
        },
        'must be an object',
      ),
    ),
    discovery: v.optional(v.object({ allowUserPartners: v.optional(Bool), offerNonPartners: v.optional(Bool) }, 'must be an object')),
    retentionDays: v.optional(
      v.pipe(
        v.number('must be a whole number of days'),
        v.integer('must be a whole number of days'),
        v.minValue(LIMITS.retentionDaysMin, `must be at least ${LIMITS.retentionDaysMin}`),
        v.maxValue(LIMITS.retentionDaysMax, `must be at most ${LIMITS.retentionDaysMax}`),
      ),
    ),
    disableOnboarding: v.optional(Bool),
  },
  'the policy must be a JSON object',
);

export type Policy = v.InferOutput<typeof PolicySchema>;
export type PolicyPartner = v.InferOutput<typeof PartnerSchema>;
