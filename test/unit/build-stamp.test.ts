import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { ROOT } from '../support/processes.js';

/**
 * `npm install` and the first `npx stacklock` run the package's prepare script: it builds only when
 * dist/ is not the build of the sources as they are (a rebuild takes seconds, and rewrites dist/
 * under a server that may be running from it).
 */
describe('prepare builds only a stale dist/', () => {
  it('is what prepare runs', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepare).toBe('node scripts/build-stamp.mjs check || npm run build');
    expect(pkg.scripts.build).toMatch(/&& node scripts\/build-stamp\.mjs write$/);
  });

  it('says a checkout never built, or changed since its build, must be built, and nothing else', () => {
    const root = tempDir('stacklock-stamp-');
    mkdirSync(join(root, 'scripts'));
    mkdirSync(join(root, 'src'));
    copyFileSync(join(ROOT, 'scripts/build-stamp.mjs'), join(root, 'scripts/build-stamp.mjs'));
    writeFileSync(join(root, 'package.json'), '{}');
    writeFileSync(join(root, 'src/a.ts'), 'export {};');
    const stamp = (mode: string) => spawnSync(process.execPath, [join(root, 'scripts/build-stamp.mjs'), mode], { encoding: 'utf8' });

    expect(stamp('check')).toMatchObject({ status: 1, stderr: expect.stringContaining('building dist/ (not built yet)') });
    mkdirSync(join(root, 'dist'));
    expect(stamp('write').status).toBe(0);
    expect(stamp('check')).toMatchObject({ status: 0, stderr: '' });
    // A source edited after the build.
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, 'src/a.ts'), later, later);
    expect(stamp('check')).toMatchObject({ status: 1, stderr: expect.stringContaining('the sources changed since the last build') });
  });
});
