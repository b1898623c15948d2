import { RequestError } from '@octokit/request-error';

/**
 * How a GitHub call failed, as the dispatcher needs it:
 * - `refused`: GitHub said no (a 4xx other than a rate limit: unknown workflow, bad inputs,
 *   missing permission). Sending again would get the same answer: the dispatch fails with
 *   GitHub's message.
 * - `retryable`: GitHub did not run it and may later (5xx, network, rate limit). `retryAt` is
 *   GitHub's own answer to "when" (`retry-after`, `x-ratelimit-reset`) when it gave one.
 */
export class GitHubFailure extends Error {
  constructor(
    message: string,
    readonly kind: 'refused' | 'retryable',
    readonly status: number | null,
    readonly retryAt: Date | null,
  ) {
    super(message);
    this.name = 'GitHubFailure';
  }
}

function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = headers?.[name];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

/** GitHub's own message (`{"message": …}`), without the documentation link Octokit appends. */
function githubMessage(e: RequestError): string {
  const data = e.response?.data as { message?: unknown; errors?: unknown } | undefined;
  const base = typeof data?.message === 'string' && data.message !== '' ? data.message : e.message.replace(/ - https:\/\/\S+$/, '');
  return base.length > 500 ? base.slice(0, 499) + '…' : base;
}

/** Octokit's HttpError; by shape too, in case two copies of @octokit/request-error are installed. */
function isRequestError(e: unknown): e is RequestError {
  return e instanceof RequestError || ((e as Error)?.name === 'HttpError' && typeof (e as RequestError).status === 'number');
}

export function classifyGitHubError(error: unknown, now: number): GitHubFailure {
  if (error instanceof GitHubFailure) return error;
  if (!isRequestError(error)) {
    // Not an HTTP answer: a bad private key, a malformed URL. Sending again changes nothing.
    return new GitHubFailure((error as Error)?.message ?? String(error), 'refused', null, null);
  }
  const status = error.status;
  const headers = error.response?.headers as Record<string, unknown> | undefined;
  const message = githubMessage(error);
  const retryAfter = Number(header(headers, 'retry-after'));
  const reset = Number(header(headers, 'x-ratelimit-reset'));
  const rateLimited =
    (status === 403 || status === 429) &&
    (Number.isFinite(retryAfter) || header(headers, 'x-ratelimit-remaining') === '0' || /rate limit/i.test(message));
  let retryAt: Date | null = null;
  if (Number.isFinite(retryAfter) && retryAfter >= 0) retryAt = new Date(now + retryAfter * 1000);
  else if (rateLimited && Number.isFinite(reset) && reset > 0) retryAt = new Date(reset * 1000 + 1000);
  if (rateLimited) return new GitHubFailure(`GitHub rate limit (HTTP ${status}): ${message}`, 'retryable', status, retryAt);
  // @octokit/request reports a network failure or timeout as status 500 without a response.
  if (status >= 500 || !error.response) {
    const what = error.response ? `HTTP ${status}` : 'no answer';
    return new GitHubFailure(`GitHub unavailable (${what}): ${message}`, 'retryable', status, retryAt);
  }
  return new GitHubFailure(`GitHub answered HTTP ${status}: ${message}`, 'refused', status, null);
}
