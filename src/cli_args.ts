/**
 * The commands' shared parts: the error a command reports (one line and an
 * exit code) and the argument parser.
 *
 * Owns: `CommandError`, `parseArgs`, `withoutStop`. Uses: nothing.
 *
 * @module
 */

/** A command-line problem: one line for the user, and the exit code. */
export class CommandError extends Error {
  /** 2 for a usage mistake, 1 for anything else. */
  readonly exitCode: number;

  /**
   * @param message One line: what failed, the value, what to do next.
   * @param exitCode 2 for a usage mistake, 1 for anything else.
   */
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CommandError";
    this.exitCode = exitCode;
  }
}

/**
 * Parses `--name value`, `--name=value` and `--flag` arguments.
 *
 * @param args The arguments after the command.
 * @param options Names that take a value.
 * @param flags Names that take none.
 * @returns Values by name (flags: `"true"`).
 * @throws {CommandError} On an unknown option or a missing value (exit code 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const values = parseArgs(["--url", "https://x/p/T", "--tool-activity"], ["--url"], ["--tool-activity"]);
 * assert.deepEqual(values, { "--url": "https://x/p/T", "--tool-activity": "true" });
 * ```
 */
export function parseArgs(
  args: readonly string[],
  options: readonly string[],
  flags: readonly string[],
): Record<string, string> {
  const values: Record<string, string> = {};
  for (let index = 0; index < args.length; index++) {
    const [name, inline] = args[index].split(/=(.*)/s, 2);
    if (flags.includes(name) && inline === undefined) {
      values[name] = "true";
    } else if (options.includes(name)) {
      const value = inline ?? args[++index];
      if (value === undefined || value === "") throw new CommandError(`Option ${name} needs a value.`, 2);
      values[name] = value;
    } else if (!name.startsWith("-")) {
      throw new CommandError(`Unexpected argument "${name}". Run with --help to see the options.`, 2);
    } else {
      throw new CommandError(`Unknown option "${name}". Run with --help to see the options.`, 2);
    }
  }
  return values;
}

/**
 * A reason from elsewhere (an error, a tracker's answer) without the
 * punctuation it ends with, so that a sentence of ours can end it once.
 *
 * @param text The reason.
 * @returns It, without trailing spaces, dots, question or exclamation marks, colons or commas.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(withoutStop("Is the computer able to access the url?"), "Is the computer able to access the url");
 * ```
 */
export function withoutStop(text: string): string {
  return text.replace(/[\s.!?:;,]+$/, "");
}
