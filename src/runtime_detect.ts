/**
 * The one place that knows which runtime runs the hook: Deno, Bun or Node.
 * It picks that runtime's adapter, and the way to run a program under it.
 *
 * Owns: `detectRuntime`, `runQuietly`. Uses: runtime, runtime_deno,
 * runtime_process.
 *
 * @module
 */

import type { Runtime } from "./runtime.ts";
import { type DenoLike, denoRuntime, runQuietlyUnderDeno } from "./runtime_deno.ts";
import { type BunLike, bunRuntime, nodeRuntime, type ProcessLike, runQuietlyUnderNode } from "./runtime_process.ts";

const scope = globalThis as { Deno?: DenoLike; Bun?: BunLike; process?: ProcessLike };

/**
 * Detects the runtime (Deno, Bun or Node) and adapts it to {@linkcode Runtime}.
 * Each runtime uses its own file and process APIs on the hook's path: Deno
 * takes about 35 ms to load `node:fs` and Bun about 9 ms, more than the rest of
 * the hook.
 *
 * @returns The adapter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(detectRuntime().kind, "deno");
 * ```
 */
export function detectRuntime(): Runtime {
  const deno = scope.Deno;
  if (deno !== undefined) return denoRuntime(deno);
  const process = scope.process;
  if (process === undefined) throw new Error("Unsupported runtime: need Deno, Bun or Node.js");
  return scope.Bun !== undefined ? bunRuntime(scope.Bun, process) : nodeRuntime(process);
}

/**
 * Runs a program by absolute path (never through a shell), from "/" (no
 * repository's files choose what a version manager's shim runs), and
 * collects its output, within a time limit: for the commands, never the hook.
 *
 * @param argv The program and its arguments.
 * @param timeoutMs The time limit; past it the program is killed.
 * @returns Its exit code and standard output, or undefined when it could not run or ran too long.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal((await runQuietly(["/bin/echo", "hi"], 5000))?.stdout, "hi\n");
 * ```
 */
export async function runQuietly(
  argv: readonly string[],
  timeoutMs: number,
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string } | undefined> {
  const deno = scope.Deno;
  // Deno's node:child_process rewrites any argument equal to Deno's own path as if Node were run (the launcher
  // is given that path): its own API runs the program as asked.
  if (deno !== undefined) return await runQuietlyUnderDeno(deno, argv, timeoutMs, env);
  return await runQuietlyUnderNode(argv, timeoutMs, env);
}
