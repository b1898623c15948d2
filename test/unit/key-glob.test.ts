import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyGlobs, compileKeyGlob, defaultRepositoryGlob } from '../../src/core/key-glob.js';

const m = (glob: string, key: string) => compileKeyGlob(glob).test(key);

describe('key globs', () => {
  it.each([
    ['acme/infra/**', 'acme/infra/prod/vpc', true],
    ['acme/infra/**', 'acme/infra/plat/ue2/prod/eks/cluster', true],
    ['acme/infra/**', 'acme/infra/', true],
    ['acme/infra/**', 'acme/infra', false],
    ['acme/infra/**', 'acme/infra2/prod/vpc', false],
    ['acme/infra/**', 'acme/infrastructure/x', false],
    ['acme/infra/**', 'xacme/infra/x', false],
    ['acme/infra/*/vpc', 'acme/infra/prod/vpc', true],
    ['acme/infra/*/vpc', 'acme/infra/prod/eu/vpc', false],
    ['acme/infra/**/vpc', 'acme/infra/prod/eu/vpc', true],
    ['acme/infra/prod-?/vpc', 'acme/infra/prod-1/vpc', true],
    ['acme/infra/prod-?/vpc', 'acme/infra/prod-/vpc', false],
    ['acme/infra/prod-?/vpc', 'acme/infra/prod//vpc', false],
    ['a.b/c+d/(x)[y]{z}|$^', 'a.b/c+d/(x)[y]{z}|$^', true],
    ['a.b/**', 'aXb/c', false],
    ['ACME/Infra/**', 'acme/infra/prod', true],
    ['**', 'anything/at/all', true],
    ['weird\\name/**', 'weird\\name/x', true],
  ])('%s vs %s → %s', (glob, key, expected) => {
    expect(m(glob, key)).toBe(expected);
  });

  it('the default glob of a repository matches exactly the keys under it, whatever characters they hold', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/);
    fc.assert(
      fc.property(name, name, fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), (owner, repo, rest, other) => {
        const globs = new KeyGlobs([defaultRepositoryGlob(`${owner}/${repo}`)]);
        expect(globs.matches(`${owner}/${repo}/${rest}`)).toBe(true);
        const key = other;
        const under = key.toLowerCase().startsWith(`${owner}/${repo}/`.toLowerCase());
        expect(globs.matches(key)).toBe(under);
      }),
    );
  });

  it('a glob without wildcards matches only its own text (ignoring case)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !/[*?]/.test(s) && s.length > 0), fc.string({ unit: 'binary', maxLength: 30 }), (glob, key) => {
        expect(m(glob, glob)).toBe(true);
        if (key.toLowerCase() !== glob.toLowerCase() && key.toUpperCase() !== glob.toUpperCase()) expect(m(glob, key)).toBe(false);
      }),
    );
  });

  it('a single * never matches across a /', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), (a, b) => {
        expect(m('x/*/y', `x/${a}/${b}/y`)).toBe(false);
      }),
    );
  });
});
