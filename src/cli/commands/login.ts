import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { adminTokenPath } from '../../auth/bootstrap.js';
import { ApiClient, resolveServerUrl, type GlobalFlags } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { readUserConfig, writeUserConfig } from '../user-config.js';

interface Whoami {
  principal: string;
  workspaceId: string;
  scopes: string[];
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('remember a server and a token for it in your config directory, used when no --token or STACKLOCK_TOKEN is given')
    .addHelpText(
      'after',
      `
The token comes from --token, or from the admin-token file of a server's data dir (--data-dir),
or from standard input (so it stays out of your shell history):
  stacklock login --url https://stacklock.example.com < token.txt
  stacklock login --data-dir /var/lib/stacklock
It is checked against the server first, then kept in $XDG_CONFIG_HOME/stacklock/config.json
(~/.config/stacklock/config.json), readable only by you. The URL becomes the default for later
commands; stacklock logout forgets the token.`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const url = resolveServerUrl(flags);
      // What this command names wins over the environment.
      const token = flags.token || tokenFromDataDir(flags.dataDir) || process.env.STACKLOCK_TOKEN || (await tokenFromStdin());
      if (!token) {
        throw new CliError('no token to log in with: pass --token <token>, --data-dir <a local server\'s data dir>, or the token on standard input', EXIT.usage);
      }
      const who = (await new ApiClient({ url, token }).request<Whoami>('GET', '/api/v1/whoami')).data;
      const config = readUserConfig();
      const path = writeUserConfig({ ...config, url, tokens: { ...config.tokens, [url]: token } });
      process.stdout.write(`Logged in to ${url} as ${who.principal}; saved in ${path}\n`);
    });

  program
    .command('logout')
    .description('forget the token saved for the server (--url, or the default one)')
    .action((_opts: unknown, cmd: Command) => {
      const url = resolveServerUrl(cmd.optsWithGlobals<GlobalFlags>());
      const config = readUserConfig();
      if (!config.tokens?.[url]) {
        process.stderr.write(`stacklock: no token saved for ${url}\n`);
        return;
      }
      const { [url]: _forgotten, ...tokens } = config.tokens;
      writeUserConfig({ ...config, tokens });
      process.stdout.write(`Logged out of ${url}\n`);
    });
}

function tokenFromDataDir(dataDir: string | undefined): string | undefined {
  if (!dataDir) return undefined;
  const path = adminTokenPath(dataDir);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new CliError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): is ${dataDir} the data dir of a stacklock server that has started once?`, EXIT.usage);
  }
}

async function tokenFromStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return promptHidden('Paste the API token and press Enter: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim() || undefined;
}

/** Reads a line from the terminal without echoing it: a token must not stay in the scrollback. */
function promptHidden(question: string): Promise<string | undefined> {
  const input = process.stdin;
  process.stderr.write(question);
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve) => {
    let typed = '';
    const done = (value: string | undefined) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(typed.trim() || undefined);
        if (ch === '\u0003') {
          process.stderr.write('\n');
          process.exit(130);
        }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    input.on('data', onData);
  });
}
