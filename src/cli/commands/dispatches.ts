import type { Command } from 'commander';
import { DISPATCH_STATES, isDispatchState } from '../../core/dispatch.js';
import type { DispatchView } from '../../core/dispatch-view.js';
import { formatDuration } from '../../core/duration.js';
import { CliError, EXIT } from '../errors.js';
import { printJson, table, truncate } from '../output.js';
import { clientFor } from '../program.js';

/** What a dispatch is doing, in a few words: whom it waits for, or why it ended as it did. */
export function dispatchNote(d: DispatchView): string {
  if (d.state === 'waiting_for_lock' && d.blockedBy) {
    return `lock held by ${d.blockedBy.holder}${d.blockedBy.message ? `: "${d.blockedBy.message}"` : ''}`;
  }
  if (d.state === 'dispatched') return d.pullRequest ? `PR #${d.pullRequest}` : '';
  return d.reason ?? '';
}

function ago(iso: string, now: number): string {
  const ms = now - new Date(iso).getTime();
  return ms < 1000 ? 'just now' : `${formatDuration(ms)} ago`;
}

export function registerDispatches(program: Command): void {
  program
    .command('dispatches')
    .description('queued and past workflow dispatches, newest first')
    .option('--key <key>', 'only dispatches for this key')
    .option('--state <state>', `only in this state: ${DISPATCH_STATES.join(', ')}`, (v) => {
      if (!isDispatchState(v)) throw new CliError(`--state must be one of ${DISPATCH_STATES.join(', ')}`, EXIT.usage);
      return v;
    })
    .option('--limit <n>', 'at most this many (default 100)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new CliError('--limit must be a whole number from 1 to 1000', EXIT.usage);
      return n;
    })
    .option('--json', 'print a JSON array')
    .action(async (opts: { key?: string; state?: string; limit?: number; json?: boolean }, cmd: Command) => {
      const q = new URLSearchParams({ limit: String(opts.limit ?? 100) });
      if (opts.key) q.set('key', opts.key);
      if (opts.state) q.set('state', opts.state);
      const { data } = await clientFor(cmd).request<{ dispatches: DispatchView[] }>('GET', `/api/v1/dispatches?${q}`);
      if (opts.json) return printJson(data.dispatches);
      if (data.dispatches.length === 0) {
        process.stdout.write('no dispatches\n');
        return;
      }
      const now = Date.now();
      process.stdout.write(
        table(
          ['ID', 'KEY', 'STATE', 'WORKFLOW', 'CREATED', 'NOTE'],
          data.dispatches.map((d) => [
            // The first 8 characters, as git shows commits: enough for dispatch cancel.
            d.id.slice(0, 8),
            truncate(d.key, 60),
            d.state,
            truncate(`${d.repository} ${d.workflow}@${d.ref}`, 60),
            ago(d.createdAt, now),
            truncate(dispatchNote(d), 80),
          ]),
        ) + '\n',
      );
    });
}
