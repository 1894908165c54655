/**
 * The one way Kontor reads an answer from someone else's server, in the extension and in the
 * gateway alike: a timeout, `redirect: 'error'`, a content-type check and a byte cap. The
 * body is read as a stream and the request aborted as soon as it passes the cap, and a
 * Content-Length over the cap is refused before a byte of the body is read, so a hostile
 * server answering with 150 MB costs the reader at most the cap.
 *
 * @example
 * const { status, json } = await fetchJson(url, { maxBytes: MANIFEST_MAX_BYTES });
 */

/** Manifests are a few KB (256 contacts at most): 64 KiB is far above any real one. */
export const MANIFEST_MAX_BYTES = 64 * 1024;
/** Federation answers: a claim for 1000 devices with 16 KB key packages stays below this. */
export const FEDERATION_REPLY_MAX_BYTES = 4 * 1024 * 1024;

export type FetchFailure = 'network' | 'timeout' | 'too_large' | 'bad_type' | 'not_json';

export class CappedFetchError extends Error {
  override name = 'CappedFetchError';
  constructor(
    readonly code: FetchFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface CappedFetchOptions {
  maxBytes: number;
  timeoutMs?: number;
  /** method, headers, body, credentials...; `redirect` and `signal` are always set here */
  init?: RequestInit;
  /** another fetch (the gateway passes one that connects only to public addresses) */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

export interface CappedResponse {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
}

/** Fetches `url` and reads at most `maxBytes` of its body; throws CappedFetchError otherwise. */
export async function fetchCapped(url: string, o: CappedFetchOptions): Promise<CappedResponse> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), o.timeoutMs ?? 10_000);
  try {
    let r: Response;
    try {
      r = await (o.fetch ?? fetch)(url, { ...o.init, redirect: 'error', signal: abort.signal });
    } catch (e) {
      throw new CappedFetchError(abort.signal.aborted ? 'timeout' : 'network', `cannot reach ${url}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const declared = Number(r.headers.get('content-length') ?? NaN);
    if (declared > o.maxBytes) {
      abort.abort();
      throw new CappedFetchError('too_large', `answer of ${declared} bytes is over the ${o.maxBytes} byte limit`);
    }
    return { status: r.status, headers: r.headers, bytes: await readCapped(r, o.maxBytes, abort) };
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(r: Response, max: number, abort: AbortController): Promise<Uint8Array> {
  if (!r.body) return new Uint8Array(0);
  const reader = r.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        abort.abort();
        void reader.cancel().catch(() => undefined);
        throw new CappedFetchError('too_large', `answer is over the ${max} byte limit`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof CappedFetchError) throw e;
    throw new CappedFetchError(abort.signal.aborted ? 'timeout' : 'network', `reading the answer failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

const isJsonType = (t: string | null) => t !== null && /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(t.trim());

/**
 * fetchCapped for JSON answers: the content type must be JSON (any status; error answers are
 * JSON too) and the body must parse. A non-JSON error page gives `json: null` for statuses
 * other than 2xx, so callers can still report the status.
 */
export async function fetchJson(url: string, o: CappedFetchOptions): Promise<{ status: number; json: unknown }> {
  const r = await fetchCapped(url, o);
  const ok = r.status >= 200 && r.status < 300;
  if (!isJsonType(r.headers.get('content-type'))) {
    if (!ok) return { status: r.status, json: null };
    throw new CappedFetchError('bad_type', `expected JSON, got ${r.headers.get('content-type') ?? 'no content type'}`);
  }
  try {
    return { status: r.status, json: JSON.parse(new TextDecoder().decode(r.bytes)) };
  } catch (e) {
    if (!ok) return { status: r.status, json: null };
    throw new CappedFetchError('not_json', 'answer is not JSON', { cause: e });
  }
}
