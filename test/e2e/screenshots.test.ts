import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { chromiumAvailable, launchChromium, screenshot } from '../support/browser.js';

/** `npm test` must leave the tracked docs/screenshots alone: pictures are taken only when asked for. */
describe.skipIf(!chromiumAvailable())('dashboard screenshots', () => {
  let browser: Browser;
  const dir = tempDir('stacklock-shots-');
  const saved = { dir: process.env.STACKLOCK_SCREENSHOT_DIR, on: process.env.STACKLOCK_SCREENSHOTS };

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    for (const [name, value] of [['STACKLOCK_SCREENSHOT_DIR', saved.dir], ['STACKLOCK_SCREENSHOTS', saved.on]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('are written only under STACKLOCK_SCREENSHOTS=1 (npm run screenshots), never by a plain test run', async () => {
    const page = await browser.newPage();
    await page.setContent('<p>stacklock</p>');
    const shots = join(dir, 'shots');
    process.env.STACKLOCK_SCREENSHOT_DIR = shots;

    delete process.env.STACKLOCK_SCREENSHOTS;
    await screenshot(page, 'plain-run');
    process.env.STACKLOCK_SCREENSHOTS = '0';
    await screenshot(page, 'switched-off');
    expect(existsSync(shots) ? readdirSync(shots) : []).toEqual([]);

    process.env.STACKLOCK_SCREENSHOTS = '1';
    await screenshot(page, 'asked-for');
    expect(readdirSync(shots)).toEqual(['asked-for.png']);
    await page.close();
  });
});
