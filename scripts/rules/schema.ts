/**
 * Valibot schema of the declarativeNetRequest rule subset Kontor ships. Every rule the compiler
 * writes is parsed with it, and every input rule from list data goes through it first, so a
 * rule Chromium or Firefox would reject at install time fails the build instead.
 * Spec: https://developer.chrome.com/docs/extensions/reference/api/declarativeNetRequest
 */
import * as v from 'valibot';

export const RESOURCE_TYPES = [
  'main_frame',
  'sub_frame',
  'stylesheet',
  'script',
  'image',
  'font',
  'object',
  'xmlhttprequest',
  'ping',
  'csp_report',
  'media',
  'websocket',
  'webtransport',
  'webbundle',
  'other',
] as const;

const ResourceType = v.picklist(RESOURCE_TYPES);
/** Lower-case ASCII (punycode) host names: what DNR's domain lists accept. */
const Domain = v.pipe(v.string(), v.regex(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/));
const Domains = v.pipe(v.array(Domain), v.minLength(1));
const ParamName = v.pipe(v.string(), v.minLength(1));

const QueryTransform = v.strictObject({
  removeParams: v.optional(v.pipe(v.array(ParamName), v.minLength(1))),
  addOrReplaceParams: v.optional(v.array(v.strictObject({ key: v.string(), value: v.string(), replaceOnly: v.optional(v.boolean()) }))),
});

const Redirect = v.union([
  v.strictObject({ transform: v.strictObject({ queryTransform: QueryTransform }) }),
  v.strictObject({ transform: v.strictObject({ query: v.string() }) }),
]);

export const DnrAction = v.variant('type', [
  v.strictObject({ type: v.literal('block') }),
  v.strictObject({ type: v.literal('allow') }),
  v.strictObject({ type: v.literal('allowAllRequests') }),
  v.strictObject({ type: v.literal('upgradeScheme') }),
  v.strictObject({ type: v.literal('redirect'), redirect: Redirect }),
]);

export const DnrCondition = v.pipe(
  v.strictObject({
    urlFilter: v.optional(
      v.pipe(
        v.string(),
        v.minLength(1),
        v.check((s) => /^[\x20-\x7e]+$/.test(s), 'urlFilter must be printable ASCII'),
      ),
    ),
    regexFilter: v.optional(v.pipe(v.string(), v.minLength(1))),
    isUrlFilterCaseSensitive: v.optional(v.boolean()),
    requestDomains: v.optional(Domains),
    excludedRequestDomains: v.optional(Domains),
    initiatorDomains: v.optional(Domains),
    excludedInitiatorDomains: v.optional(Domains),
    resourceTypes: v.optional(v.pipe(v.array(ResourceType), v.minLength(1))),
    excludedResourceTypes: v.optional(v.pipe(v.array(ResourceType), v.minLength(1))),
    requestMethods: v.optional(
      v.pipe(v.array(v.picklist(['connect', 'delete', 'get', 'head', 'options', 'patch', 'post', 'put', 'other'])), v.minLength(1)),
    ),
    domainType: v.optional(v.picklist(['firstParty', 'thirdParty'])),
  }),
  v.check((c) => !(c.urlFilter !== undefined && c.regexFilter !== undefined), 'urlFilter and regexFilter are exclusive'),
  v.check((c) => !(c.resourceTypes && c.excludedResourceTypes), 'resourceTypes and excludedResourceTypes are exclusive'),
);

export const DnrRule = v.pipe(
  v.strictObject({
    id: v.pipe(v.number(), v.integer(), v.minValue(1)),
    priority: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    action: DnrAction,
    condition: DnrCondition,
  }),
  // allowAllRequests only works on frame requests (DNR spec).
  v.check(
    (r) =>
      r.action.type !== 'allowAllRequests' ||
      ((r.condition.resourceTypes ?? []).every((t) => t === 'main_frame' || t === 'sub_frame') && r.condition.resourceTypes !== undefined),
    'allowAllRequests needs resourceTypes limited to main_frame/sub_frame',
  ),
);

export type DnrRule = v.InferOutput<typeof DnrRule>;
export type DnrCondition = v.InferOutput<typeof DnrCondition>;
export type DnrAction = v.InferOutput<typeof DnrAction>;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Input rules carry no trusted id yet: same schema, any positive id (AdGuard uses hashes). */
export const DnrRuleArray = v.array(DnrRule);
