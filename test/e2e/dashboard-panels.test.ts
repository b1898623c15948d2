import { rmSync } from 'node:fs';
import type { Browser, BrowserContext, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { apiAs, chromiumAvailable, launchChromium, openSignedIn, pageProblems, screenshot } from '../support/browser.js';
import { eventually, FakeGitHub } from '../support/fake-github.js';
import { openCall, until } from '../support/http-waiter.js';
import { type ServerProcess, startServerProcess } from '../support/processes.js';

declare const window: { injected?: number };
declare const document: { createElement(t: string): { textContent: string }; body: { appendChild(n: unknown): void } };

/**
 * The panels that appear only when the server has their data: dispatches (issue 6) and the
 * waiting queue of a key (issue 5), from real servers (dispatches go to a local fake GitHub).
 * Only the check that a non-http(s) link is never rendered answers the browser through
 * Playwright's request routing, since the server never produces such a link.
 */
describe.skipIf(!chromiumAvailable())('dashboard panels that follow the server’s data, in Chromium', { timeout: 120_000 }, () => {
  let server: ServerProcess;
  let browser: Browser;
  const dataDir = tempDir('stacklock-panels-');
  const envelope = (data: unknown) => ({ status: 200, contentType: 'application/json', body: JSON.stringify({ success: true, status: 200, data, traceId: 't' }) });

  beforeAll(async () => {
    server = await startServerProcess(dataDir);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A server that dispatches to its own fake GitHub, with acme/infra allowed; stopped and removed after `body`. */
  const withDispatchingServer = async (prefix: string, body: (server: ServerProcess, api: (method: string, path: string, b?: unknown) => ReturnType<typeof apiAs>, gh: FakeGitHub) => Promise<void>) => {
    const gh = await new FakeGitHub().start();
    const ghDataDir = tempDir(prefix);
    const dispatching = await startServerProcess(ghDataDir, [], gh.tokenEnv());
    try {
      const api = (method: string, path: string, b?: unknown) => apiAs(dispatching.url, dispatching.adminToken, method, path, b);
      expect((await api('PUT', '/api/v1/repos/acme/infra', {})).status).toBeLessThan(300);
      await body(dispatching, api, gh);
    } finally {
      await dispatching.kill();
      await gh.stop();
      rmSync(ghDataDir, { recursive: true, force: true });
    }
  };

  it('shows real dispatches: one waiting behind a lock (who holds it and why), one sent, one GitHub refused; the waiting one turns dispatched when the lock is released', async () => {
    await withDispatchingServer('stacklock-panels-gh-', async (dispatching, api, gh) => {
      const vpc = 'acme/infra/plat-ue1-prod/vpc';
      expect((await api('POST', '/api/v1/locks', { key: vpc, ttlMs: 600_000, message: 'deploying VPC', holderId: 'run-1' })).status).toBe(201);
      const dispatch = async (key: string, pullRequest: number | null) => {
        const r = await api('POST', '/api/v1/dispatches', {
          key, repository: 'acme/infra', workflow: 'apply.yml', ref: 'main', inputs: { stack: 'plat-ue1-prod' }, ...(pullRequest ? { pullRequest, headSha: 'a'.repeat(40) } : {}),
        });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        return r.body.data.id as string;
      };
      const waiting = await dispatch(vpc, 7);
      const sent = await dispatch('acme/infra/plat-ue1-prod/eks', null);
      await eventually(() => gh.dispatches().length === 1, 'the free key dispatched');
      gh.answerNext('dispatch', { status: 422, body: { message: "Workflow does not have 'workflow_dispatch' trigger", documentation_url: 'https://docs.github.com/rest' } });
      const refused = await dispatch('acme/infra/plat-ue1-prod/dns', null);
      const stateOf = async (id: string) => (await api('GET', `/api/v1/dispatches/${id}`)).body.data.state as string;
      await eventually(async () => (await stateOf(refused)) === 'failed', 'the refused dispatch failed');

      const page = await openSignedIn(browser, dispatching.url, dispatching.adminToken);
      await page.getByRole('link', { name: 'Dispatches' }).click();
      await page.getByRole('heading', { name: 'Dispatches' }).waitFor();
      const row = (id: string) => page.locator(`tr[data-dispatch="${id}"]`);
      await row(waiting).getByText('waiting for lock').waitFor();
      expect(await row(waiting).innerText()).toContain('behind token:admin: “deploying VPC”');
      expect(await row(sent).innerText()).toMatch(/dispatched[\s\S]*sent /);
      expect(await row(refused).innerText()).toMatch(/failed[\s\S]*workflow_dispatch/);
      const links = await row(waiting).locator('a').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
      expect(links).toEqual([
        `${gh.url}/acme/infra/actions/workflows/apply.yml`,
        `${gh.url}/acme/infra/pull/7`,
        `${gh.url}/acme/infra/commit/${'a'.repeat(40)}`,
      ]);
      await screenshot(page, 'dispatches-light');

      // Released elsewhere (as the CLI would): the page follows without a reload.
      expect((await api('DELETE', `/api/v1/locks/${encodeURIComponent(vpc)}`)).status).toBe(200);
      await row(waiting).getByText('dispatched', { exact: true }).waitFor({ timeout: 10_000 });
      expect(gh.dispatches().map((d) => d.inputs)).toEqual([{ stack: 'plat-ue1-prod' }, { stack: 'plat-ue1-prod' }]);
      expect(pageProblems(page)).toEqual([]);
      await page.context().close();
    });
  });

  it('shows the Dispatches tab without a reload once the first dispatch exists', async () => {
    await withDispatchingServer('stacklock-panels-first-', async (dispatching, api) => {
      const page = await openSignedIn(browser, dispatching.url, dispatching.adminToken);
      await page.evaluate(() => (window.injected = 7));
      const tab = page.getByRole('link', { name: 'Dispatches' });
      await page.waitForTimeout(500);
      expect(await tab.count()).toBe(0);

      // The first dispatch, for a free key: it goes out at once and no lock changes.
      const r = await api('POST', '/api/v1/dispatches', { key: 'acme/infra/prod/first', repository: 'acme/infra', workflow: 'apply.yml', ref: 'main' });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const created = Date.now();
      await tab.waitFor({ timeout: 10_000 });
      console.log(`dashboard: the Dispatches tab appeared ${Date.now() - created} ms after the first dispatch`);
      await tab.click();
      await page.locator(`tr[data-dispatch="${r.body.data.id}"]`).waitFor();
      expect(await page.evaluate(() => window.injected)).toBe(7); // the same page: no reload
      expect(pageProblems(page)).toEqual([]);
      await page.context().close();
    });
  });

  it('has no Dispatches section while the server has no dispatches, and renders only http(s) links', async () => {
    // The dashboard asks once, at sign-in, whether the server has dispatches: wait for that answer.
    const signIn = async (context: BrowserContext) => {
      const page = await context.newPage();
      await page.goto(server.url);
      const probed = page.waitForResponse((r) => r.url().includes('/api/v1/dispatches'));
      await page.getByLabel('API token').fill(server.adminToken);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await probed;
      await page.getByRole('link', { name: 'Activity' }).waitFor();
      return page;
    };
    const plainContext = await browser.newContext();
    const plain = await signIn(plainContext);
    expect(await plain.getByRole('link', { name: 'Dispatches' }).count()).toBe(0);
    await plainContext.close();

    const context = await browser.newContext();
    await context.route('**/api/v1/dispatches**', (route: Route) =>
      route.fulfill(envelope({ dispatches: [
        { id: 'd1', key: 'acme/infra/prod/vpc', repository: 'acme/infra', workflow: 'apply.yml', ref: 'main', pullRequest: 7, state: 'waiting_for_lock',
          reason: null, createdAt: '2026-06-09T10:00:00Z', dispatchedAt: null,
          blockedBy: { token: 3, holder: 'token:deployer', holderId: 'run-1', message: 'deploying VPC', expiresAt: '2026-06-09T10:30:00Z' },
          links: { workflowRuns: 'https://github.example/acme/infra/actions/workflows/apply.yml', pullRequest: 'https://github.example/acme/infra/pull/7', commit: null } },
        { id: 'd2', key: 'acme/infra/prod/eks', repository: 'acme/infra', workflow: 'apply.yml', ref: 'main', pullRequest: null, state: 'dispatched',
          reason: null, createdAt: '2026-06-09T10:01:00Z', dispatchedAt: '2026-06-09T10:01:01Z', blockedBy: null,
          links: { workflowRuns: 'https://github.example/acme/infra/actions/workflows/apply.yml', pullRequest: null, commit: null } },
        { id: 'd3', key: 'acme/infra/prod/dns', repository: 'acme/infra', workflow: 'apply.yml', ref: 'main', pullRequest: null, state: 'failed',
          reason: 'GitHub answered 422: workflow not found', createdAt: '2026-06-09T10:02:00Z', dispatchedAt: null, blockedBy: null,
          links: { workflowRuns: 'javascript:alert(1)', pullRequest: null, commit: null } },
      ], nextCursor: null })),
    );
    const withDispatches = await signIn(context);
    await withDispatches.getByRole('link', { name: 'Dispatches' }).click();
    await withDispatches.getByRole('heading', { name: 'Dispatches' }).waitFor();
    const table = withDispatches.locator('table.grid');
    await table.getByText('waiting for lock').waitFor();
    expect(await table.locator('tr[data-dispatch="d1"]').innerText()).toContain('behind token:deployer: “deploying VPC”');
    expect(await table.innerText()).toContain('GitHub answered 422');
    const links = await table.locator('a').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
    expect(links).toEqual([
      'https://github.example/acme/infra/actions/workflows/apply.yml',
      'https://github.example/acme/infra/pull/7',
      'https://github.example/acme/infra/actions/workflows/apply.yml',
    ]); // the javascript: link of d3 is not rendered
    await context.close();
  });

  it('shows the real queue of waiters behind a lock, and says when nobody waits', async () => {
    const key = 'acme/infra/prod/queue';
    expect((await apiAs(server.url, server.adminToken, 'POST', '/api/v1/locks', { key, ttlMs: 600_000, message: 'applying', holderId: 'run-1' })).status).toBe(201);
    const page = await openSignedIn(browser, server.url, server.adminToken);
    const row = page.locator(`tr[data-key="${key}"]`);
    expect(await row.locator('td[data-label="Waiting"]').innerText()).toBe('0');
    await row.getByRole('button', { name: 'Details' }).click();
    await page.getByText('History of this key').waitFor();
    await page.getByRole('heading', { name: 'Waiting (0)' }).waitFor();
    expect(await page.getByText('Nobody is waiting.').count()).toBe(1);
    await row.getByRole('button', { name: 'Hide' }).click();

    // Two real waiters (requests held open by the server), in this order.
    const waiters = [];
    for (const [holderId, message] of [['acme/infra/actions/runs/77/attempts/1/apply', 'next apply'], ['run-3', '']] as const) {
      const w = openCall(server.url, server.adminToken, 'POST', '/api/v1/locks', { key, ttlMs: 600_000, holderId, message, waitMs: 300_000 });
      w.response.catch(() => undefined);
      waiters.push(w);
      await until(async () => JSON.stringify((await apiAs(server.url, server.adminToken, 'GET', `/api/v1/locks/${encodeURIComponent(key)}`)).body).includes(holderId));
    }
    try {
      // The list says how many wait, without opening Details (the lock's queueLength).
      await expect.poll(() => row.locator('td[data-label="Waiting"]').innerText(), { timeout: 8_000 }).toBe('2');
      await row.getByRole('button', { name: 'Details' }).click();
      await page.getByRole('heading', { name: 'Waiting (2)' }).waitFor();
      const queue = await page.locator('ol.queue').innerText();
      expect(queue).toMatch(/^token:admin acme\/infra\/actions\/runs\/77\/attempts\/1\/apply.*“next apply”.*(waiting for .+|just joined)\ntoken:admin run-3.* (waiting for .+|just joined)/);
      expect(pageProblems(page)).toEqual([]);
    } finally {
      for (const w of waiters) w.disconnect();
    }
  });

  it('runs under a Content-Security-Policy that blocks an injected inline script', async () => {
    const page = await openSignedIn(browser, server.url, server.adminToken);
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.injected = 1';
      document.body.appendChild(s);
    });
    expect(await page.evaluate(() => window.injected)).toBeUndefined();
    await expect.poll(() => pageProblems(page).join('\n')).toContain('CSP');
  });
});
