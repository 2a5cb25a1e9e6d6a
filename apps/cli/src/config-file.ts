import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** What `mpiaas login` stores: the server and the key to use with it. */
export interface StoredLogin {
  url?: string;
  token?: string;
}

const StoredLoginSchema = z.object({ url: z.string().optional(), token: z.string().optional() });

/** $XDG_CONFIG_HOME/mpiaas/config.json, else ~/.config/mpiaas/config.json (the XDG default). */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME ?? os.homedir(), '.config');
  return path.join(base, 'mpiaas', 'config.json');
}

/** The stored login; empty when there is no file. A file that is not ours is an error naming it. */
export function readConfigFile(file: string): StoredLogin {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    const parsed = StoredLoginSchema.parse(JSON.parse(text));
    return { ...(parsed.url !== undefined && { url: parsed.url }), ...(parsed.token !== undefined && { token: parsed.token }) };
  } catch {
    throw new Error(`${file} is not an mpiaas config (JSON {url, token}); fix it or run mpiaas login again`);
  }
}

/**
 * Writes the login readable by its owner only (0600, in a 0700 folder): it holds a key. The
 * file is written beside and renamed into place, so a reader never sees half of it, and a
 * file that existed with looser permissions is replaced, not kept.
 */
export function writeConfigFile(file: string, login: StoredLogin): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(temporary, 0o600); // in case the umask took bits off (it cannot add any)
  fs.renameSync(temporary, file);
}
