/** Errors that map to a JSON `{error:{code,message}}` answer with an HTTP status. */
import type { ErrorCode } from '../wire/protocol';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  invalid_code: 401,
  revoked: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  epoch_conflict: 409,
  too_large: 413,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

/** a code a peer may hand back to a device as it is (anything else becomes 'unavailable') */
export const isErrorCode = (c: string): c is ErrorCode => Object.hasOwn(STATUS, c) && c !== 'internal';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
  get status(): number {
    return STATUS[this.code];
  }
  toJSON() {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

/** The database cannot be reached (PostgreSQL down, restarting, or the network to it cut). */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';
}

/** The answer for an error thrown while handling a request; null: an unexpected (internal) one. */
export function toApiError(e: unknown): ApiError | null {
  if (e instanceof ApiError) return e;
  if (e instanceof StoreUnavailable) return new ApiError('unavailable', 'database unavailable, try again');
  return null;
}
