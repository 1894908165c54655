/**
 * The background's single entry for messages from other contexts. It decides the sender's
 * trust tier from the browser-provided `sender` (never from the message), validates the
 * envelope and the params against the protocol schema, and turns every failure into a
 * typed error reply. Handlers therefore only ever see valid params from an allowed sender.
 */
import * as v from 'valibot';
import { KontorError } from '../shared/errors';
import { protocol, type Kind, type Params, type Reply, type Results, type Tier } from '../shared/protocol';

export interface SenderInfo {
  id?: string | undefined;
  url?: string | undefined;
  tab?: { id?: number | undefined; url?: string | undefined } | undefined;
  frameId?: number | undefined;
}

export interface HandlerContext {
  tier: Tier;
  /** The tab a content script runs in (content tier only). */
  tabId: number | undefined;
  frameId: number | undefined;
  senderUrl: string | undefined;
  /**
   * The page a content script runs in, as the browser reports it (never as the message
   * claims it): the top frame's own URL, else the tab's.
   */
  pageUrl: string | undefined;
}

export type Handler<K extends Kind> = (params: Params<K>, ctx: HandlerContext) => Promise<Results[K]> | Results[K];
export type Handlers = { [K in Kind]: Handler<K> };

const EnvelopeSchema = v.object({ kontor: v.literal(1), kind: v.pipe(v.string(), v.maxLength(64)), params: v.unknown() });

export interface DispatcherOptions {
  extensionId: string;
  /** e.g. `chrome-extension://ID/` or `moz-extension://UUID/` */
  extensionOrigin: string;
  /** Resolves once storage-backed state is loaded; handlers run after it. */
  ready?: Promise<unknown>;
  onError?: (kind: string, error: unknown) => void;
}

/** The URL of the page the sender runs in, from browser-provided fields only. */
export function senderPageUrl(sender: SenderInfo): string | undefined {
  // a subframe's own URL is not the page's: for it only the tab's URL counts
  return (sender.frameId === 0 ? sender.url : undefined) ?? sender.tab?.url;
}

export function senderTier(sender: SenderInfo, extensionOrigin: string): Tier {
  // Extension pages (popup, side panel, options, even when opened in a tab) have a URL on
  // the extension's own origin; anything else is a content script inside a web page.
  return sender.url?.startsWith(extensionOrigin) ? 'extension' : 'content';
}

function fail(code: KontorError['code'], message: string): Reply {
  return { ok: false, error: { code, message } };
}

export function createDispatcher(handlers: Handlers, options: DispatcherOptions) {
  return async function dispatch(message: unknown, sender: SenderInfo): Promise<Reply> {
    if (sender.id !== options.extensionId) return fail('forbidden', 'messages from other extensions are not accepted');
    const envelope = v.safeParse(EnvelopeSchema, message);
    if (!envelope.success) return fail('bad_request', 'not a Kontor message envelope');
    const kind = envelope.output.kind;
    if (!Object.hasOwn(protocol, kind)) return fail('unknown_kind', `unknown message kind "${kind.slice(0, 64)}"`);
    const spec = protocol[kind as Kind];
    const tier = senderTier(sender, options.extensionOrigin);
    if (spec.tier === 'extension' && tier !== 'extension') {
      return fail('forbidden', `"${kind}" is not allowed from a content script`);
    }
    const params = v.safeParse(spec.params as v.GenericSchema, envelope.output.params);
    if (!params.success) {
      const issues = params.issues.map((i) => `${v.getDotPath(i) ?? '(params)'}: ${i.message}`).slice(0, 5);
      return fail('invalid_params', `invalid params for "${kind}": ${issues.join('; ')}`);
    }
    try {
      await options.ready;
      const handler = handlers[kind as Kind] as Handler<Kind>;
      const ctx: HandlerContext = {
        tier,
        tabId: sender.tab?.id,
        frameId: sender.frameId,
        senderUrl: sender.url,
        pageUrl: senderPageUrl(sender),
      };
      const result = await handler(params.output as Params<Kind>, ctx);
      return { ok: true, result } as Reply;
    } catch (error) {
      options.onError?.(kind, error);
      if (error instanceof KontorError) return fail(error.code, error.message);
      return fail('internal', `"${kind}" failed`);
    }
  };
}
