import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_TEMP_ENV, RUN_TEMP_PREFIX } from './temp.js';

/** What a leaked temp file of ours is called when it lands outside a run's area. */
const OURS = /^(stacklock-|pg-password-)/;

interface RunTemp {
  readonly dir: string;
  readonly parent: string;
  /** `stacklock-*` and `pg-password-*` entries of the parent before the run, to tell new ones apart. */
  readonly before: Set<string>;
  readonly previous: { tmpdir: string | undefined; area: string | undefined };
  readonly removeAtExit: () => void;
  users: number;
}

// Every project of a run calls setup and teardown in the same process; the run shares one area,
// kept on globalThis because each project may load this module afresh.
const KEY = Symbol.for('stacklock.test.run-temp');
const state = globalThis as { [KEY]?: RunTemp };

function ourEntries(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => OURS.test(name));
  } catch {
    return [];
  }
}

/**
 * Makes the run's temp area (one fresh dir in the system temp dir) and points RUN_TEMP_ENV and
 * TMPDIR at it, before any test process starts, so that they and everything they start inherit it.
 */
export function setup(): void {
  let run = state[KEY];
  if (!run) {
    const parent = tmpdir();
    const before = new Set(ourEntries(parent));
    const dir = mkdtempSync(join(parent, RUN_TEMP_PREFIX));
    // As root the embedded PostgreSQL runs as the user `postgres`, which must reach its data dir
    // and password file in here: it may pass through the area, not list it.
    if (process.getuid?.() === 0) chmodSync(dir, 0o711);
    // A run that ends without its teardown (a failed setup, a signal) still removes its area.
    const removeAtExit = () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    process.once('exit', removeAtExit);
    run = { dir, parent, before, previous: { tmpdir: process.env.TMPDIR, area: process.env[RUN_TEMP_ENV] }, removeAtExit, users: 0 };
    state[KEY] = run;
    process.env[RUN_TEMP_ENV] = dir;
    process.env.TMPDIR = dir;
  }
  run.users += 1;
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** The last project's teardown removes the area, and fails the run if it cannot. */
export function teardown(): void {
  const run = state[KEY];
  if (!run) return;
  run.users -= 1;
  if (run.users > 0) return;
  state[KEY] = undefined;
  restore('TMPDIR', run.previous.tmpdir);
  restore(RUN_TEMP_ENV, run.previous.area);
  process.off('exit', run.removeAtExit);
  rmSync(run.dir, { recursive: true, force: true, maxRetries: 5 });
  if (existsSync(run.dir)) throw new Error(`the run's temp area ${run.dir} could not be removed`);
  // Temp files that bypassed the area. Only a warning: a concurrent run or benchmark may have
  // made them, and nothing tells whose they are.
  const strays = ourEntries(run.parent).filter((name) => !run.before.has(name) && !name.startsWith(RUN_TEMP_PREFIX));
  if (strays.length > 0) {
    console.warn(`stacklock tests: new entries in ${run.parent} outside the run's temp area (this run's or a concurrent one's): ${strays.join(', ')}`);
  }
}
