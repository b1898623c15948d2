/**
 * The closed list of error tags. Each has exactly one HTTP status and one CLI exit code;
 * the HTTP layer and the CLI both read this table and nothing else.
 *
 * CLI exit codes: 0 done; 2 bad usage or input; 3 lock held by someone else (or lost);
 * 4 not permitted; 5 server unreachable or failing.
 */
export const ERRORS = {
  ValidationError: { status: 400, exitCode: 2 },
  Unauthorized: { status: 401, exitCode: 4 },
  Forbidden: { status: 403, exitCode: 4 },
  NotLockHolder: { status: 403, exitCode: 4 },
  NotFound: { status: 404, exitCode: 2 },
  // Not being locked is no failure for the CLI (unlock of a free key warns and exits 0).
  LockNotFound: { status: 404, exitCode: 0 },
  LockHeld: { status: 409, exitCode: 3 },
  LockLost: { status: 409, exitCode: 3 },
  Conflict: { status: 409, exitCode: 2 },
  PayloadTooLarge: { status: 413, exitCode: 2 },
  UnsupportedMediaType: { status: 415, exitCode: 2 },
  RateLimited: { status: 429, exitCode: 5 },
  Internal: { status: 500, exitCode: 5 },
  Unavailable: { status: 503, exitCode: 5 },
} as const satisfies Record<string, { status: number; exitCode: number }>;

export type ErrorTag = keyof typeof ERRORS;

export function isErrorTag(s: unknown): s is ErrorTag {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, s);
}

/** A failure the domain expects and can explain; never becomes a 500. */
export class DomainError extends Error {
  readonly tag: ErrorTag;
  readonly context: Record<string, unknown> | undefined;

  constructor(tag: ErrorTag, message: string, context?: Record<string, unknown>) {
    super(message);
    this.name = 'DomainError';
    this.tag = tag;
    this.context = context;
  }

  get status(): number {
    return ERRORS[this.tag].status;
  }
}
