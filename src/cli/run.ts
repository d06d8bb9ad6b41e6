import { CommanderError, type Command } from 'commander';
import { ExitCode, reportError, type OutputOptions } from './output.js';

type Action = (...args: never[]) => Promise<number | void>;

/** Wraps a command so every failure becomes a message and an exit code, never a stack trace. */
export function run(action: Action) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const opts = command.optsWithGlobals() as OutputOptions;
    try {
      const code = await (action as (...a: unknown[]) => Promise<number | void>)(...args);
      process.exitCode = code ?? ExitCode.ok;
    } catch (err) {
      if (err instanceof CommanderError) {
        process.stderr.write(`quiver: ${err.message}\n`);
        process.exitCode = ExitCode.usage;
        return;
      }
      process.exitCode = reportError(err, opts);
    }
  };
}

export const integer = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new CommanderError(ExitCode.usage, 'quiver.invalidArgument', `not an integer: ${value}`);
  return n;
};

/** A time given as ISO 8601 or as milliseconds since the epoch. */
export const time = (value: string): number => {
  const n = /^-?\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw new CommanderError(ExitCode.usage, 'quiver.invalidArgument', `not a time: ${value}`);
  return n;
};
