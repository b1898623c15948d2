import type { Command } from 'commander';
import { buildConfig, type ServerFlags } from '../../config.js';
import { CliError, EXIT } from '../errors.js';

export function registerServer(program: Command): void {
  program
    .command('server')
    .description('run the stacklock server')
    .option('--data-dir <dir>', 'SQLite file and admin token (env STACKLOCK_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'PostgreSQL, for several replicas (env DATABASE_URL)')
    .option('--port <port>', 'port to listen on (env PORT, default 8080)')
    .option('--host <host>', 'address to listen on (env HOST, default 127.0.0.1)')
    .option('--max-ttl <ttl>', 'longest TTL granted (env STACKLOCK_MAX_TTL, default 7d)')
    .option('--lock-delay <delay>', 'a key stays unavailable this long after an expiry (env STACKLOCK_LOCK_DELAY, default 0)')
    .option('--log-level <level>', 'pino level (env STACKLOCK_LOG_LEVEL, default info)')
    .option('--dispatch-max-wait <duration>', 'a dispatch still waiting for its lock after this long times out (env STACKLOCK_DISPATCH_MAX_WAIT, default 24h)')
    .action(async (_flags: ServerFlags, cmd: Command) => {
      // --data-dir is also a global option (the CLI reads the admin token there), so read both levels.
      // Loaded here, not at the top: every other command starts faster without the server's modules.
      const { startServer, StartupRefused } = await import('../../main.js');
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer(buildConfig(cmd.optsWithGlobals<ServerFlags>(), process.env));
      } catch (error) {
        if (error instanceof StartupRefused) throw new CliError(error.message, EXIT.usage);
        throw error;
      }
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          // A second Ctrl-C: the operator does not want to wait for in-flight requests.
          server.app.log.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        stopping = true;
        server.app.log.info({ signal }, 'shutting down: waiters in line are told to retry, in-flight requests finish');
        const force = setTimeout(() => {
          server.app.log.error('shutdown took longer than 10s: exiting anyway');
          process.exit(1);
        }, 10_000);
        force.unref();
        server.close().then(
          () => process.exit(0),
          (error) => {
            server.app.log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
