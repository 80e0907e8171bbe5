// Shared parts of the development scripts and the tests: paths, the pinned
// runtimes, a real HTTP receiver on 127.0.0.1, the recorded fixtures, and one
// way to run a process with a clean environment. Scripts import this, never
// the tests' helpers.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { hookArgv, launcherArgs, launcherCommand } from "../mod.ts";

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
  /** TCP connections opened to it so far (keep-alive reuses them). */
  readonly connections: number;
  /** The most requests it was answering at once. */
  readonly maxInFlight: number;
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
  let connections = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on("close", () => inFlight--);
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
  server.on("connection", () => connections++);
  // A port in use rejects (rather than leaving the promise pending).
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/ping/${token}`,
    token,
    requests,
    arrivals,
    get connections() {
      return connections;
    },
    get maxInFlight() {
      return maxInFlight;
    },
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
  if (runtime === "deno") return Deno.execPath();
  const bun = Deno.env.get("BUN_BINARY") ?? `${ROOT}tools/node_modules/.bin/bun`;
  if (!pathExists(bun)) {
    throw new Error(
      `Cannot find Bun at "${bun}": run \`npm run tools\` to install the pinned tools, or set BUN_BINARY.`,
    );
  }
  return bun;
}

/** The command line that runs the hook under a runtime, with the flags the hook itself uses for its sender. */
export function hookCommand(runtime: RuntimeName, stateDir: string, hookPath: string = HOOK_PATH): string[] {
  return hookArgv(runtime, runtimeBinary(runtime), hookPath, stateDir);
}

/** The plugin's launcher, generated from src/launcher.ts: the fast path of both routes. */
export const LAUNCHER_PATH: string = `${ROOT}hooks/telemhq.sh`;

/**
 * The settings command that runs a hook file through a launcher (the plugin's, by default), as install
 * writes it: the fast path Claude Code runs.
 */
export function launcherLine(runtime: RuntimeName, hookPath: string = HOOK_PATH, launcher = LAUNCHER_PATH): string {
  return launcherCommand(launcher, launcherArgs(runtime, runtimeBinary(runtime), hookPath));
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

/** What a finished process did. */
export interface ProcessRun {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a process to its end with a clean environment (`PATH=/usr/bin:/bin`,
 * the test's HOME, and `env`), optionally writing `stdin`, and decodes its
 * output. A process that runs longer than `timeoutMs` is killed, so a hung
 * child fails its test instead of hanging the suite.
 */
export async function runProcess(
  argv: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string | Uint8Array; timeoutMs?: number } = {},
): Promise<ProcessRun> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: options.cwd,
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    const bytes = typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin;
    await writer.write(bytes).catch(() => {});
    await writer.close().catch(() => {});
  }
  const output = await child.output();
  clearTimeout(killer);
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, signal: output.signal, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** The pinned Claude Code's executable (its JavaScript, the catalog included, is text inside it). */
export function pinnedClaudeBinary(): string {
  return `${ROOT}tools/node_modules/@anthropic-ai/claude-code/bin/claude.exe`;
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
