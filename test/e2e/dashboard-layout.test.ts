import { rmSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { apiAs, chromiumAvailable, launchChromium, openSignedIn, pageProblems } from '../support/browser.js';
import { eventually, FakeGitHub } from '../support/fake-github.js';
import { type ServerProcess, startServerProcess } from '../support/processes.js';

// The page callbacks below run in Chromium, not in Node: the few DOM names they use.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const NodeFilter: any;

/** A key of exactly 512 characters, shaped like an atmos one (owner/repo/stack/component), with slashes to wrap at. */
const PATH_KEY = (() => {
  const parts = ['acme-corp', 'infrastructure-live', 'tenants', 'platform', 'environments', 'production', 'regions', 'us-east-1', 'stacks', 'networking-and-shared-services'];
  let key = '';
  for (let i = 0; key.length < 512; i++) key += `${parts[i % parts.length]}/`;
  return key.slice(0, 511) + 'z';
})();
/** A 512-character key without a single place to break it: the last resort must still keep it inside the window. */
const SOLID_KEY = 'k'.repeat(512);
const REPO = 'acme-corp/infrastructure-live';
const RUN_URL = `https://github.com/${REPO}/actions/runs/12345678901`;
/** The Action's default message (action.yml: workflow, run number, actor, run URL) as GitHub fills it in. */
const ACTION_MESSAGE = `Deploy infrastructure run 4821 by octocat-the-release-engineer (${RUN_URL})`;
/** The holder id the CLI sends in GitHub Actions (src/cli/holder-id.ts). */
const HOLDER_ID = `${REPO}/actions/runs/12345678901/attempts/1/terraform-apply-plat-ue1-prod`;

const WIDTHS = [1280, 1024, 390];

interface Box { left: number; right: number; top: number; bottom: number }

/** What the page looks like at the current width, measured in the page. */
function measure(): {
  scrollWidth: number;
  clientWidth: number;
  boxes: Record<string, Box | null>;
  forceButtons: Box[];
  /** Per holder id and details value: its characters and the lines it takes. */
  wrapped: Array<{ what: string; text: string; lines: number; breaksAfter: string[] }>;
} {
  const box = (el: { getBoundingClientRect(): Box } | null): Box | null => {
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
  };
  // The lines a text takes, and the character before each break, from the boxes of its characters.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const lines = (el: any) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const tops: number[] = [];
    const breaksAfter: string[] = [];
    let text = '';
    let lastTop: number | null = null;
    let lastChar = '';
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const value: string = node.nodeValue ?? '';
      for (let i = 0; i < value.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rects = range.getClientRects();
        if (rects.length === 0) continue;
        const top = Math.round(rects[0].top);
        if (lastTop !== null && Math.abs(top - lastTop) > 2) {
          tops.push(top);
          breaksAfter.push(lastChar);
        } else if (lastTop === null) tops.push(top);
        lastTop = top;
        lastChar = value[i] as string;
        text += value[i];
      }
    }
    return { text, lines: tops.length, breaksAfter };
  };
  const wrapped: Array<{ what: string; text: string; lines: number; breaksAfter: string[] }> = [];
  for (const el of document.querySelectorAll('tr[data-key] > td[data-label="Holder"] .muted')) wrapped.push({ what: 'holder id', ...lines(el) });
  for (const el of document.querySelectorAll('tr[data-key] > .key, tr[data-event] > .key, tr[data-dispatch] > .key')) wrapped.push({ what: 'key', ...lines(el) });
  for (const el of document.querySelectorAll('.event-details dd')) wrapped.push({ what: 'detail', ...lines(el) });
  return {
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    boxes: {
      brand: box(document.querySelector('.top .brand')),
      signOut: box([...document.querySelectorAll('.top button')].pop() ?? null),
      toolbar: box(document.querySelector('main .toolbar')),
      table: box(document.querySelector('main table.grid')),
    },
    forceButtons: [...document.querySelectorAll('tr[data-key] button.danger')].map(box) as Box[],
    wrapped,
  };
}

/** Raw names of the API's JSON (holderId, expiresAt, heldByHolderId…) or JSON punctuation, where people read words. */
const RAW = /\b[a-z]+[A-Z][A-Za-z]*\b|[{}[\]"]/;

describe.skipIf(!chromiumAvailable())('the dashboard with real data: long keys, the Action’s default message, audit details', { timeout: 240_000 }, () => {
  let gh: FakeGitHub;
  let server: ServerProcess;
  let browser: Browser;
  let dataDir: string;
  let writer: string;
  const api = (method: string, path: string, body?: unknown, token = server.adminToken) => apiAs(server.url, token, method, path, body);

  beforeAll(async () => {
    gh = await new FakeGitHub().start();
    dataDir = tempDir('stacklock-layout-');
    server = await startServerProcess(dataDir, [], gh.tokenEnv());
    browser = await launchChromium();
    const created = await api('POST', '/api/v1/tokens', { name: 'ci-deployer', scopes: ['locks:write', 'dispatches:write'] });
    expect(created.status).toBe(201);
    writer = created.body.data.token;
    expect((await api('PUT', `/api/v1/repos/${REPO}`, {})).status).toBeLessThan(300);

    // What a day of CI leaves: locks from the Action, a refusal, a wait that ran out, a renewal, a forced release.
    for (const key of [PATH_KEY, SOLID_KEY, 'acme-corp/infrastructure-live/plat-ue1-prod/vpc']) {
      const r = await api('POST', '/api/v1/locks', { key, ttlMs: 120_000, message: ACTION_MESSAGE, holderId: HOLDER_ID }, writer);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    expect((await api('POST', '/api/v1/locks', { key: PATH_KEY, ttlMs: 120_000, message: ACTION_MESSAGE, holderId: HOLDER_ID }, writer)).status).toBe(200);
    expect((await api('POST', '/api/v1/locks', { key: PATH_KEY, ttlMs: 60_000, message: 'hotfix', holderId: `${REPO}/actions/runs/12345678999/attempts/2/hotfix` })).status).toBe(409);
    expect((await api('POST', '/api/v1/locks', { key: SOLID_KEY, ttlMs: 60_000, message: 'hotfix', holderId: 'laptop:jane', waitMs: 1000 })).status).toBe(409);
    const stuck = `${REPO}/plat-ue1-prod/eks`;
    expect((await api('POST', '/api/v1/locks', { key: stuck, ttlMs: 120_000, message: ACTION_MESSAGE, holderId: HOLDER_ID }, writer)).status).toBe(201);
    expect((await api('DELETE', `/api/v1/locks/${encodeURIComponent(stuck)}?force=true&reason=${encodeURIComponent(`runner died mid-apply, see ${RUN_URL}`)}`)).status).toBe(200);
    // A dispatch waiting behind the long key's lock.
    const d = await api('POST', '/api/v1/dispatches', { key: PATH_KEY, repository: REPO, workflow: 'terraform-apply.yml', ref: 'main', inputs: { stack: 'plat-ue1-prod' }, pullRequest: 412, headSha: 'c'.repeat(40) }, writer);
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    await eventually(async () => (await api('GET', `/api/v1/dispatches/${d.body.data.id}`)).body.data.state === 'waiting_for_lock', 'the dispatch waits');
  });
  afterAll(async () => {
    await browser?.close();
    await server?.kill();
    await gh?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const pages: Array<[string, string, string]> = [
    ['Locks', '#/locks', `tr[data-key="${PATH_KEY}"]`],
    ['Activity', '#/activity', 'tr[data-event="lock.force_deleted"]'],
    ['Dispatches', '#/dispatches', 'tr[data-dispatch]'],
  ];

  async function show(page: Page, hash: string, ready: string) {
    await page.evaluate((h: string) => ((globalThis as unknown as { location: { hash: string } }).location.hash = h), hash);
    await page.locator(ready).first().waitFor();
    await page.waitForTimeout(150); // a re-render after a late answer
  }

  it('keeps every page inside the window at 1280, 1024 and 390 px: wrapped at path boundaries, Force unlock on screen, details as labelled fields', async () => {
    const page = await openSignedIn(browser, server.url, server.adminToken, { width: 1280, height: 900 });
    await page.getByRole('link', { name: 'Dispatches' }).waitFor();
    const problems: string[] = [];
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
      for (const [name, hash, ready] of pages) {
        await show(page, hash, ready);
        const m = await page.evaluate(measure);
        const at = `${name} at ${width} px`;
        if (m.scrollWidth > m.clientWidth) problems.push(`${at}: the page is ${m.scrollWidth} px wide in a ${m.clientWidth} px window`);
        if (name === 'Locks') {
          if (m.forceButtons.length < 3) problems.push(`${at}: ${m.forceButtons.length} Force unlock buttons`);
          for (const b of m.forceButtons) {
            if (b.left < 0 || b.right > m.clientWidth) problems.push(`${at}: Force unlock at ${Math.round(b.left)}..${Math.round(b.right)} px, outside the window`);
          }
        }
        for (const w of m.wrapped) {
          const perLine = w.text.length / Math.max(1, w.lines);
          // A line of a few characters is what unreadable looks like; 12 is a short path segment.
          if (w.lines > 2 && perLine < 12) problems.push(`${at}: ${w.what} “${w.text.slice(0, 40)}…” takes ${w.lines} lines of ${perLine.toFixed(1)} characters`);
          const pathLike = w.text === PATH_KEY || w.text === HOLDER_ID;
          const midWord = w.breaksAfter.filter((c) => !/[/\s\-_:.,)]/.test(c));
          if (pathLike && midWord.length > 0) problems.push(`${at}: ${w.what} “${w.text.slice(0, 40)}…” breaks inside a word (after “${midWord.join('”, “')}”)`);
        }
        if (name === 'Activity') {
          const details = await page.locator('td.event-details').allInnerTexts();
          const raw = details.filter((t) => RAW.test(t));
          if (raw.length > 0) problems.push(`${at}: raw JSON names or punctuation in details: ${raw.slice(0, 3).map((t) => JSON.stringify(t)).join(' | ')}`);
          const labels = await page.locator('td.event-details dt').allInnerTexts();
          if (labels.length < 10) problems.push(`${at}: details have ${labels.length} labelled fields`);
          const unlabelled = labels.filter((l) => !/^[A-Z][a-z]*( [a-z]+)*$/.test(l.trim()));
          if (unlabelled.length > 0) problems.push(`${at}: labels that are not words: ${unlabelled.join(', ')}`);
        }
      }
    }
    expect(problems).toEqual([]);

    // The words the labels say, for the events this test made.
    await show(page, '#/activity', 'tr[data-event="lock.denied"]');
    const denied = await page.locator('tr[data-event="lock.denied"]').filter({ hasText: 'attempts/2/hotfix' }).locator('td.event-details').innerText();
    expect(denied).toMatch(/Holder id/);
    expect(denied).toMatch(/Held by holder id/);
    const waited = await page.locator('tr[data-event="lock.denied"]').filter({ hasText: 'laptop:jane' }).locator('td.event-details').innerText();
    expect(waited).toMatch(/Waited\s*1s/);
    const forced = await page.locator('tr[data-event="lock.force_deleted"]').first().locator('td.event-details').innerText();
    expect(forced).toContain('runner died mid-apply');
    const token = await page.locator('tr[data-event="token.created"]').first().locator('td.event-details').innerText();
    expect(token).toContain('locks:write, dispatches:write');
    expect(pageProblems(page)).toEqual([]);
    await page.context().close();
  });

  it('cuts only a very long value, to a few lines, with all of it on hover (title) and on focus', async () => {
    const page = await openSignedIn(browser, server.url, server.adminToken, { width: 1024, height: 900 });
    const row = page.locator(`tr[data-key="${PATH_KEY}"]`);
    await row.waitFor();
    const key = row.locator('.key .clamp');
    expect(await key.getAttribute('title')).toBe(PATH_KEY);
    const cut = () => key.evaluate((el: { scrollHeight: number; clientHeight: number }) => el.scrollHeight > el.clientHeight + 1);
    expect(await cut()).toBe(true);
    await key.focus();
    expect(await cut()).toBe(false);
    expect((await key.innerText()).replace(/\s/g, '')).toBe(PATH_KEY);

    // The usual sizes are never cut: an atmos key, the Action's message, a GitHub holder id.
    const usual = page.locator('tr[data-key="acme-corp/infrastructure-live/plat-ue1-prod/vpc"]');
    expect(await usual.locator('.clamp').count()).toBe(0);
    expect((await usual.locator('td[data-label="Holder"] .muted').innerText()).replace(/\s/g, '')).toBe(HOLDER_ID);
    expect((await usual.locator('td[data-label="Message"]').innerText()).trim()).toBe(ACTION_MESSAGE);
    await page.context().close();
  });

  it('lines the header, the toolbar and the table up at 1920 px', async () => {
    const page = await openSignedIn(browser, server.url, server.adminToken, { width: 1920, height: 1000 });
    const problems: string[] = [];
    for (const [name, hash, ready] of pages) {
      await show(page, hash, ready);
      const { boxes, scrollWidth, clientWidth } = await page.evaluate(measure);
      const [brand, signOut, toolbar, table] = (['brand', 'signOut', 'toolbar', 'table'] as const).map((k) => {
        const b = boxes[k];
        if (!b) throw new Error(`${name}: no ${k} on the page`);
        return b;
      }) as [Box, Box, Box, Box];
      const at = `${name} at 1920 px`;
      if (scrollWidth > clientWidth) problems.push(`${at}: ${scrollWidth} px wide`);
      const near = (a: number, b: number) => Math.abs(a - b) <= 2;
      if (!near(toolbar.left, table.left) || !near(toolbar.right, table.right)) {
        problems.push(`${at}: toolbar ${Math.round(toolbar.left)}..${Math.round(toolbar.right)}, table ${Math.round(table.left)}..${Math.round(table.right)}`);
      }
      if (!near(brand.left, table.left) || !near(signOut.right, table.right)) {
        problems.push(`${at}: header ${Math.round(brand.left)}..${Math.round(signOut.right)}, table ${Math.round(table.left)}..${Math.round(table.right)}`);
      }
    }
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
