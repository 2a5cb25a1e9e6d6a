import type { Command } from 'commander';

/**
 * Every command of the CLI, by name, loaded only when asked for: each brings its own
 * dependencies (the HTTP client and its schemas, or the ranked runtime and its Redis client),
 * which cost a noticeable part of a short command's run.
 */
// '.js': a dynamic import() stays an ES import, which wants the compiled file's full name.
const COMMANDS = {
  run: async () => (await import('./commands/run.command.js')).runCommand(),
  submit: async () => (await import('./commands/submit.command.js')).submitCommand(),
  status: async () => (await import('./commands/status.command.js')).statusCommand(),
  logs: async () => (await import('./commands/logs.command.js')).logsCommand(),
  cancel: async () => (await import('./commands/cancel.command.js')).cancelCommand(),
  list: async () => (await import('./commands/list.command.js')).listCommand(),
  profile: async () => (await import('./commands/profile.command.js')).profileCommand(),
  files: async () => (await import('./commands/files.command.js')).filesCommand(),
  download: async () => (await import('./commands/files.command.js')).downloadCommand(),
  exec: async () => (await import('./commands/exec.command.js')).execCommand(),
  login: async () => (await import('./commands/login.command.js')).loginCommand(),
} satisfies Record<string, () => Promise<Command>>;

export type CommandName = keyof typeof COMMANDS;

/** In the order `mpiaas --help` lists them. */
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

/** Options of the program itself that take a value (so that value is not a command name). */
const PROGRAM_OPTIONS_WITH_VALUE = new Set(['--url', '--token']);

/**
 * The command a command line runs: its first word that is not a program option (or an
 * option's value); undefined when that word names no command (help, a typo) or is absent.
 * `help exec` names exec, so its help can be shown.
 */
export function commandNamed(args: readonly string[]): CommandName | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (PROGRAM_OPTIONS_WITH_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    if (arg === 'help') continue;
    return (COMMAND_NAMES as string[]).includes(arg) ? (arg as CommandName) : undefined;
  }
  return undefined;
}

export function loadCommand(name: CommandName): Promise<Command> {
  return COMMANDS[name]();
}
