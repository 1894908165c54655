import type { ErrorCode } from './protocol';

/** An error that crosses the message boundary with a stable code. */
export class KontorError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KontorError';
  }
}
