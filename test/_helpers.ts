// Shared test parts: a real HTTP receiver on 127.0.0.1 and a real hook process.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { denoRunFlags } from "../hook.ts";

export const ROOT: string = fileURLToPath(new URL("../", import.meta.url));
export const HOOK_PATH: string = `${ROOT}hook.ts`;
export const FIXTURES: string = `${ROOT}test/fixtures/claude-code-2.1.197`;
/** Fixtures recorded from the Claude Code pinned in tools/ (deno task record:fixtures). */
export const NEWEST_FIXTURES: string = `${ROOT}test/fixtures/claude-code-2.1.332`;
export const SCENARIOS: readonly string[] = ["plain", "tools", "subagent", "stop-failure", "two-turns"];

/** One request the receiver got. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** How the receiver answers a request (optionally after a delay); the default is 200. */
export type Responder = (
  request: ReceivedRequest,
  index: number,
) => { status: number; headers?: Record<string, string>; delayMs?: number } | "hang";

export interface Receiver {
  /** The ping URL to give the hook: http://127.0.0.1:PORT/ping/TOKEN. */
  url: string;
  token: string;
  requests: ReceivedRequest[];
  /** When each request arrived (Date.now()), in order. */
  arrivals: number[];
  port: number;
  /** Resolves when `count` requests arrived, rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a real HTTP receiver on 127.0.0.1 (on `port`, or any free one) that records every request. */
export async function startReceiver(respond: Responder = () => ({ status: 200 }), port = 0): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const arrivals: number[] = [];
  const hanging: ServerResponse[] = [];
  const token = `tok_${crypto.randomUUID().replaceAll("-", "")}`;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    req.on("end", () => {
      const request: ReceivedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: new TextDecoder().decode(concat(chunks)),
      };
      requests.push(request);
      arrivals.push(Date.now());
      const answer = respond(request, requests.length - 1);
      if (answer === "hang") {
        hanging.push(res);
        return;
      }
      setTimeout(() => {
        res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
        res.end('{"ok":true}');
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/ping/${token}`,
    token,
    requests,
    arrivals,
    port: bound,
    async waitFor(count: number, timeoutMs = 15_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > deadline) throw new Error(`Receiver got ${requests.length} of ${count} requests`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close(): Promise<void> {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((size, chunk) => size + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

export type RuntimeName = "deno" | "bun";
export const RUNTIMES: readonly RuntimeName[] = ["deno", "bun"];

/** The path of a runtime binary: this Deno, and Bun from tools/ (or `BUN_BINARY`). */
export function runtimeBinary(runtime: RuntimeName): string {
  return runtime === "deno" ? Deno.execPath() : Deno.env.get("BUN_BINARY") ?? `${ROOT}tools/node_modules/.bin/bun`;
}

/** The command line that runs the hook under a runtime, with the flags the hook itself uses for its sender. */
export function hookCommand(runtime: RuntimeName, stateDir: string, hookPath: string = HOOK_PATH): string[] {
  return runtime === "deno"
    ? [runtimeBinary("deno"), "run", ...denoRunFlags(runtimeBinary("deno"), stateDir), hookPath]
    : [runtimeBinary("bun"), "--no-env-file", "--no-install", hookPath];
}

export interface HookRun {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Settings for a hook under test: its own state directory, and short retry
 * and idle times so that its sender finishes within the test.
 */
export function testEnv(stateDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TELEMHQ_STATE_DIR: stateDir,
    TELEMHQ_RETRY_BASE_MS: "50",
    TELEMHQ_RETRY_MAX_MS: "400",
    TELEMHQ_SENDER_IDLE_MS: "300",
    ...extra,
  };
}

/**
 * Removes a directory tree that a detached sender may still be writing into:
 * a few tries, since a file created mid-removal makes it fail ("not empty").
 */
export async function removeTree(dir: string): Promise<void> {
  for (let attempt = 0;; attempt++) {
    try {
      Deno.removeSync(dir, { recursive: true });
      return;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A fresh state directory; removing it makes any sender still running in it exit. */
export function tempStateDir(): string {
  return Deno.makeTempDirSync({ prefix: "telemhq-state-" });
}

/**
 * Runs the hook as Claude Code does: a new process, the event on stdin,
 * settings in the environment (and nothing else of the test's environment).
 * `env.TELEMHQ_STATE_DIR` must be set: it also narrows Deno's write permission.
 */
export async function runHook(
  runtime: RuntimeName,
  stdin: string | Uint8Array,
  env: Record<string, string>,
  options: { cwd?: string; killAfterMs?: number } = {},
): Promise<HookRun> {
  const stateDir = env.TELEMHQ_STATE_DIR;
  if (stateDir === undefined) throw new Error("runHook() needs TELEMHQ_STATE_DIR in env");
  const [command, ...args] = hookCommand(runtime, stateDir);
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd ?? Deno.makeTempDirSync({ prefix: "telemhq-cwd-" }),
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // A hook that never ends is a failure, not a hung test suite.
  const killer = setTimeout(() => child.kill("SIGKILL"), options.killAfterMs ?? 30_000);
  const writer = child.stdin.getWriter();
  await writer.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin).catch(() => {});
  await writer.close().catch(() => {});
  const output = await child.output();
  clearTimeout(killer);
  return {
    code: output.code,
    signal: output.signal,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Waits until `check` is true, polling; throws with `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The files in a state subdirectory (spool, inbox, failed), or [] when it does not exist. */
export function listState(stateDir: string, subdirectory = ""): string[] {
  try {
    return [...Deno.readDirSync(`${stateDir}/${subdirectory}`)].map((entry) => entry.name).sort();
  } catch {
    return [];
  }
}

/** The recorded hook events of a fixture scenario, one object per line. */
export function readEvents(scenario: string, fixtures: string = FIXTURES): Record<string, unknown>[] {
  return Deno.readTextFileSync(`${fixtures}/${scenario}/events.jsonl`)
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
}

/** Every recorded event of every scenario, with where it came from. */
export function allEvents(
  fixtures: string = FIXTURES,
): { scenario: string; line: number; event: Record<string, unknown> }[] {
  return SCENARIOS.flatMap((scenario) =>
    readEvents(scenario, fixtures).map((event, index) => ({ scenario, line: index + 1, event }))
  );
}

/** The content markers planted in the recorded sessions: none may ever leave the machine. */
export const SECRET_MARKER = "SECRET_";

/** Whether a path exists. */
export function pathExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Copies a folder tree (a recorded session's HOME, say). */
export function copyDirectory(from: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const entry of Deno.readDirSync(from)) {
    if (entry.isDirectory) copyDirectory(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else Deno.copyFileSync(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}
