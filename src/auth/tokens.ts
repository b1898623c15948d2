import { createHash, randomBytes } from 'node:crypto';

/** API tokens look like `slk_<43 base64url chars>` (256 random bits). */
export const TOKEN_PREFIX = 'slk_';

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * Tokens are stored only as their SHA-256. A 256-bit random token cannot be guessed, so a
 * slow password hash adds nothing here but latency on every request.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

export function isValidTokenName(name: string): boolean {
  return TOKEN_NAME.test(name);
}
