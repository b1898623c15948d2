import type { Command } from 'commander';
import { buildConfig, type ServerFlags } from '../../config.js';

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
      const { startServer } = await import('../../main.js');
      const server = await startServer(buildConfig(cmd.optsWithGlobals<ServerFlags>(), process.env));
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        server.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
        const force = setTimeout(() => process.exit(1), 10_000);
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
