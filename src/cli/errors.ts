import { ERRORS, isErrorTag, type ErrorTag } from '../core/errors.js';

/** Exit codes (README, `stacklock --help`). */
export const EXIT = {
  ok: 0,
  usage: 2,
  held: 3,
  forbidden: 4,
  unavailable: 5,
} as const;

/** A failure the CLI reports on stderr and turns into an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly tag: ErrorTag | null = null,
    readonly context: Record<string, unknown> | null = null,
  ) {
    super(message);
  }
}

/** An error envelope from the server, with the exit code of its tag. */
export function fromEnvelope(body: { errorTag?: unknown; errorMessage?: unknown; context?: unknown; status?: unknown }, httpStatus: number): CliError {
  const message = typeof body.errorMessage === 'string' ? body.errorMessage : `server answered HTTP ${httpStatus}`;
  const context = typeof body.context === 'object' && body.context !== null ? (body.context as Record<string, unknown>) : null;
  if (isErrorTag(body.errorTag)) return new CliError(message, ERRORS[body.errorTag].exitCode, body.errorTag, context);
  return new CliError(message, httpStatus >= 500 ? EXIT.unavailable : EXIT.usage, null, context);
}
