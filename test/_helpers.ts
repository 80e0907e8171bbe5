// Shared test parts: a real HTTP receiver on 127.0.0.1 and a real hook process.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

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

/** How the receiver answers a request; the default is 200. */
export type Responder = (
  request: ReceivedRequest,
  index: number,
) => { status: number; headers?: Record<string, string> } | "hang";

export interface Receiver {
  /** The ping URL to give the hook: http://127.0.0.1:PORT/ping/TOKEN. */
  url: string;
  token: string;
  requests: ReceivedRequest[];
  /** Resolves when `count` requests arrived, rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a real HTTP receiver on 127.0.0.1 that records every request. */
export async function startReceiver(respond: Responder = () => ({ status: 200 })): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
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
      const answer = respond(request, requests.length - 1);
      if (answer === "hang") {
        hanging.push(res);
        return;
      }
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ping/${token}`,
    token,
    requests,
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

/** The command line that runs the hook under a runtime, as the installer writes it. */
export function hookCommand(runtime: RuntimeName, hookPath: string = HOOK_PATH): string[] {
  return runtime === "deno"
    ? [
      runtimeBinary("deno"),
      "run",
      "--no-config",
      "--no-lock",
      "--no-prompt",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      hookPath,
    ]
    : [runtimeBinary("bun"), "--no-env-file", "--no-install", hookPath];
}

export interface HookRun {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the hook as Claude Code does: a new process, the event on stdin,
 * settings in the environment (and nothing else of the test's environment).
 */
export async function runHook(
  runtime: RuntimeName,
  stdin: string | Uint8Array,
  env: Record<string, string>,
  options: { cwd?: string; killAfterMs?: number } = {},
): Promise<HookRun> {
  const [command, ...args] = hookCommand(runtime);
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
