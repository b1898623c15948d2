import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT } from './errors.js';

/**
 * What `stacklock login` keeps for the user: the server to talk to by default and a token per
 * server URL. It lives in `$XDG_CONFIG_HOME/stacklock/config.json` (`~/.config` when unset), a
 * file only its owner may read (0600, in a 0700 directory), since it holds bearer tokens.
 */
export interface UserConfig {
  url?: string;
  tokens?: Record<string, string>;
}

export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(base, 'stacklock', 'config.json');
}

export function readUserConfig(env: NodeJS.ProcessEnv = process.env): UserConfig {
  const path = userConfigPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as UserConfig) : {};
  } catch {
    throw new CliError(`${path} is not valid JSON: fix it, or remove it and run stacklock login again`, EXIT.usage);
  }
}

/** Writes the whole file anew (a temporary file renamed over it), never readable by others. */
export function writeUserConfig(config: UserConfig, env: NodeJS.ProcessEnv = process.env): string {
  const path = userConfigPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return path;
}
