import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.js';

/**
 * The layer rules of .dependency-cruiser.cjs, checked by dependency-cruiser on every test run: no
 * import cycle, core/ imports no backend, transport or client, HTTP, dispatch and auth reach no
 * storage backend, the dashboard shares only core/ with the server.
 */
describe('the layers', () => {
  it('keep to their rules', () => {
    const cli = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
    const r = spawnSync(process.execPath, [cli, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
