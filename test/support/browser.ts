import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ROOT } from './processes.js';

/** Debian's Chromium (`apt-get install -y chromium`); nothing downloads a browser at run time. */
export const CHROMIUM = process.env.STACKLOCK_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Whether the browser tests run. Locally a missing Chromium skips them with a reason; under
 * CI=true it is a failure (the test that says so runs instead of the suite).
 */
export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export function mustHaveChromium(): boolean {
  return !!process.env.CI && process.env.CI !== 'false';
}

export function launchChromium(): Promise<Browser> {
  // launch() gives every run a fresh temporary profile (user-data-dir) of its own.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-gpu',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Where screenshots go: `docs/screenshots` when refreshing them (`npm run screenshots`), else a
 * git-ignored folder, so that an ordinary test run never leaves changed tracked files behind.
 */
export function screenshotDir(): string {
  const dir = resolve(ROOT, process.env.STACKLOCK_SCREENSHOT_DIR ?? join('test-output', 'screenshots'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screenshotDir(), `${name}.png`), fullPage: true, animations: 'disabled' });
}
