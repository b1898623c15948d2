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
 * Where screenshots go: `docs/screenshots`, the pictures the README shows (STACKLOCK_SCREENSHOT_DIR
 * sends them elsewhere).
 */
export function screenshotDir(): string {
  const dir = resolve(ROOT, process.env.STACKLOCK_SCREENSHOT_DIR ?? join('docs', 'screenshots'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Whether this run takes the README's pictures: only `npm run screenshots` sets
 * STACKLOCK_SCREENSHOTS=1, so a plain test run never rewrites the tracked PNGs.
 */
export function screenshotsWanted(): boolean {
  return process.env.STACKLOCK_SCREENSHOTS === '1';
}

export async function screenshot(page: Page, name: string): Promise<void> {
  if (!screenshotsWanted()) return;
  await page.screenshot({ path: join(screenshotDir(), `${name}.png`), fullPage: true, animations: 'disabled' });
}

export interface PageOptions {
  colorScheme?: 'light' | 'dark';
  width?: number;
  height?: number;
}

const problems = new WeakMap<Page, string[]>();

/**
 * A fresh context (no cookies) signed in to the dashboard at `url` with `token`, waiting until
 * the locks page shows and the live stream is connected.
 */
export async function openSignedIn(browser: Browser, url: string, token: string, options: PageOptions = {}): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 760 },
    colorScheme: options.colorScheme ?? 'light',
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  const seen: string[] = [];
  problems.set(page, seen);
  page.on('pageerror', (error) => seen.push(`uncaught: ${error.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) seen.push(`CSP: ${m.text()}`);
  });
  await page.goto(url);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Locks' }).waitFor();
  await page.locator('.live.live').waitFor();
  return page;
}

/** Uncaught errors and Content-Security-Policy violations the page has had so far. */
export function pageProblems(page: Page): string[] {
  return [...(problems.get(page) ?? [])];
}

/** A call to the server's API with a bearer token, as a CLI or CI job would make it. */
export async function apiAs(url: string, token: string, method: string, path: string, body?: unknown) {
  const r = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: r.status, body: (await r.json()) as { data: any; errorTag?: string } };
}
