import { DomainError } from './errors.js';
import { KEY_MAX_LENGTH } from './limits.js';

/**
 * Key globs, the language of repository permissions. A key is never split, so a glob is matched
 * against the whole key as one string: `**` matches any run of characters (`/` included), `*`
 * any run without `/`, `?` one character other than `/`; everything else is literal. Matching
 * ignores case, because GitHub owner and repository names do and atmos builds the key's
 * `<owner>/<repo>/` from the git remote as typed.
 *
 * Written here rather than taken from a path-glob library: those carry file-system rules (hidden
 * dot-files, `./` normalisation, braces, extglobs, Windows separators) that have no meaning for
 * an opaque key and would make a permission broader or narrower than it reads.
 */
const GLOB_MAX_LENGTH = KEY_MAX_LENGTH;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export function validateKeyGlob(glob: unknown): string {
  if (typeof glob !== 'string' || glob.length === 0 || glob.length > GLOB_MAX_LENGTH) {
    throw new DomainError('ValidationError', `a key glob is a non-empty string of at most ${GLOB_MAX_LENGTH} characters`);
  }
  if (CONTROL.test(glob)) throw new DomainError('ValidationError', 'a key glob must not contain control characters');
  return glob;
}

export function compileKeyGlob(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      source += '[^]*';
      while (glob[i + 1] === '*') i++;
    } else if (c === '*') {
      source += '[^/]*';
    } else if (c === '?') {
      source += '[^/]';
    } else {
      source += c.replace(/[\\^$.|+()[\]{}/]/g, '\\$&');
    }
  }
  return new RegExp(`^(?:${source})$`, 'iu');
}

/** A compiled set of globs: the keys a principal may lock. */
export class KeyGlobs {
  private readonly patterns: RegExp[];
  constructor(readonly globs: readonly string[]) {
    this.patterns = globs.map(compileKeyGlob);
  }
  matches(key: string): boolean {
    return this.patterns.some((p) => p.test(key));
  }
  toString(): string {
    return this.globs.join(', ');
  }
}

/** What `stacklock repo allow owner/repo` grants when no --keys are given: the keys atmos builds. */
export function defaultRepositoryGlob(repository: string): string {
  return `${repository}/**`;
}
