import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Names the run's temp area: one directory per test run (test/support/temp-global-setup.ts),
 * under which every temp dir and temp file of the run goes (TMPDIR points there too, so servers,
 * CLIs, browsers and libraries the tests start write there as well). Removing it at the end of
 * the run removes everything the run left, also after failures, and never a concurrent run's files.
 */
export const RUN_TEMP_ENV = 'STACKLOCK_TEST_TMP';

/** Prefix of a run's temp area, directly in the system temp dir. */
export const RUN_TEMP_PREFIX = 'stacklock-testrun-';

/** The run's temp area when one is set up and still there, else null (a file run outside vitest's global setup). */
export function runTempArea(): string | null {
  const dir = process.env[RUN_TEMP_ENV];
  if (!dir) return null;
  try {
    return statSync(dir).isDirectory() ? dir : null;
  } catch {
    return null;
  }
}

const made = new Set<string>();
let exitHookInstalled = false;

function removeMade(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  made.clear();
}

/**
 * A fresh directory (mode 0700) in the run's temp area, or in the system temp dir when there is
 * none. Either way it is removed when this process exits, so a file's dirs do not pile up for the
 * rest of the run; the run's teardown removes whatever a killed process left.
 */
export function makeTempDir(prefix = 'stacklock-test-'): string {
  const dir = mkdtempSync(join(runTempArea() ?? tmpdir(), prefix));
  made.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', removeMade);
  }
  return dir;
}

/** Removes a dir made by makeTempDir now (e.g. in afterAll) instead of at exit. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  made.delete(dir);
}
