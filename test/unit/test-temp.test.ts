import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import soakConfig from '../../vitest.soak.config.js';
import config from '../../vitest.config.js';
import { ROOT } from '../support/processes.js';
import { makeTempDir, removeTempDir, RUN_TEMP_ENV } from '../support/temp.js';

const TEMP_SETUP = 'test/support/temp-global-setup.ts';

describe("the test runs' temp files", () => {
  test('a failing run removes every temp dir and file it made, its own and its processes\'', () => {
    const parent = makeTempDir('stacklock-hygiene-run-');
    if (process.getuid?.() === 0) chmodSync(parent, 0o711);
    try {
      // A vitest of its own, with this parent as its system temp dir and none of this run's settings.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== RUN_TEMP_ENV));
      const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/support/fixtures/vitest.fixture.config.ts'], {
        cwd: ROOT,
        env: { ...env, TMPDIR: parent, NO_COLOR: '1' },
        encoding: 'utf8',
        timeout: 90_000,
      });
      const output = `${run.stdout}${run.stderr}`;
      expect(output).toContain('fails on purpose');
      expect(run.status, output).toBe(1);
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      removeTempDir(parent);
    }
  });

  test('every run sets up the temp area first, so that its teardown runs last', () => {
    expect([config.test?.globalSetup].flat()[0]).toBe(TEMP_SETUP);
    expect([soakConfig.test?.globalSetup].flat()[0]).toBe(TEMP_SETUP);
  });
});
