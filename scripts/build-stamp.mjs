#!/usr/bin/env node
// Whether dist/ is the build of the sources as they are. `npm install` (its prepare script) and
// `npx stacklock` (which installs the checkout it runs from) build only when it is not: a
// rebuild takes seconds and rewrites dist/ under a server that may be running from it.
//   check: exit 0 when dist/ is up to date, 1 (saying so on stderr) when it must be built
//   write: record that dist/ was just built from the sources as they are
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const STAMP = join(root, 'dist', '.build-stamp');
const INPUTS = ['src', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];

/** The newest modification time among the files under `path`. */
function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), stat.mtimeMs);
}

const mode = process.argv[2];
if (mode === 'write') {
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
} else if (mode === 'check') {
  let built = 0;
  try {
    built = statSync(STAMP).mtimeMs;
  } catch {
    // Never built here.
  }
  const changed = Math.max(...INPUTS.map((p) => newest(join(root, p))));
  if (built === 0 || changed > built) {
    process.stderr.write(`stacklock: building dist/ (${built === 0 ? 'not built yet' : 'the sources changed since the last build'}); this takes a few seconds\n`);
    process.exit(1);
  }
} else {
  process.stderr.write('usage: build-stamp.mjs check|write\n');
  process.exit(2);
}
