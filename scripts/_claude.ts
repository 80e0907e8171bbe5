// Runs the real Claude Code CLI (`claude -p`) in a throwaway HOME against the
// Messages API stand-in, with hooks configured in a settings file.
import { ROOT } from "./_dev.ts";

/** The hook events a print-mode session fires, all configured in the end-to-end runs. */
export const PRINT_MODE_EVENTS: readonly string[] = [
  "SessionStart",
  "UserPromptSubmit",
  "PreToolUse",
  "PostToolUse",
  "PostToolUseFailure",
  "PostToolBatch",
  "SubagentStart",
  "SubagentStop",
  "Stop",
  "StopFailure",
  "SessionEnd",
];

/** The claude binary: `CLAUDE_BINARY` (to try another version), else the pinned one in tools/. */
export function claudeBinary(): string {
  return Deno.env.get("CLAUDE_BINARY") ?? `${ROOT}tools/node_modules/.bin/claude`;
}

/** Quotes a word for the POSIX shell that Claude Code runs hook commands with. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** Writes a settings file that runs each command on each event (`async`: Claude Code does not wait). */
export function writeSettings(
  path: string,
  commands: readonly string[],
  events: readonly string[] = PRINT_MODE_EVENTS,
  options: { async?: boolean } = {},
): void {
  const entry = (command: string) => ({
    type: "command",
    command,
    timeout: 30,
    ...(options.async ? { async: true } : {}),
  });
  const hooks = Object.fromEntries(events.map((event) => [event, [{ matcher: "*", hooks: commands.map(entry) }]]));
  Deno.writeTextFileSync(path, JSON.stringify({ hooks }, null, 2));
}

/**
 * A hook command that keeps a copy of every event it gets, one file each, in
 * `dir`: the record of what Claude Code actually fired.
 */
export function recorderCommand(dir: string): string {
  // Named by the time it fired, so the directory lists the events in order; written whole, then renamed, so a
  // half-written file is never read; deaf to Claude Code's SIGTERM (as our fast path is), so a StopFailure it
  // ends 15 ms after the start is still recorded.
  const at = shellQuote(dir);
  return `trap '' TERM HUP; t=$(date +%s%N); f=$(mktemp ${at}/.recording.XXXXXX) && cat > "$f" && mv "$f" ${at}/event.$t.$$`;
}

/** The events the recorder kept, in the order they fired. */
export function recordedEvents(dir: string): Record<string, unknown>[] {
  return [...Deno.readDirSync(dir)]
    .filter((entry) => entry.name.startsWith("event."))
    .map((entry) => entry.name)
    .sort()
    .map((name) => JSON.parse(Deno.readTextFileSync(`${dir}/${name}`)));
}

export interface ClaudeSession {
  home: string;
  cwd: string;
  settings: string;
  /** The hook's default state directory in this HOME. */
  stateDir: string;
}

/** A throwaway HOME and project directory for one Claude Code session. */
export function newSession(): ClaudeSession {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-e2e-home-" });
  const cwd = `${home}/projects/api`;
  Deno.mkdirSync(cwd, { recursive: true });
  return { home, cwd, settings: `${home}/settings.json`, stateDir: `${home}/.claude/telemhq` };
}

export interface ClaudeRun {
  code: number;
  stdout: string;
  stderr: string;
  /** From `--output-format json`, when Claude Code printed it. */
  sessionId?: string;
}

/** Runs one `claude -p` turn (or a `--resume` follow-up) against the stand-in. */
export async function runClaude(
  session: ClaudeSession,
  options: {
    prompt: string;
    apiUrl: string;
    env?: Record<string, string>;
    resume?: string;
    model?: string;
    allowedTools?: string;
    /** Another Claude Code's command (an older release), instead of the pinned one. */
    binary?: readonly string[];
    /** PATH for Claude Code and its hooks. */
    path?: string;
  },
): Promise<ClaudeRun> {
  const args = [
    "-p",
    options.prompt,
    "--settings",
    session.settings,
    "--model",
    options.model ?? "claude-sonnet-4-5",
    "--allowedTools",
    options.allowedTools ?? "Bash Read Agent",
    "--output-format",
    "json",
  ];
  if (options.resume) args.push("--resume", options.resume);
  const [command, ...prefix] = options.binary ?? [claudeBinary()];
  const child = new Deno.Command(command, {
    args: [...prefix, ...args],
    cwd: session.cwd,
    clearEnv: true,
    env: {
      PATH: options.path ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: session.home,
      ANTHROPIC_BASE_URL: options.apiUrl,
      ANTHROPIC_API_KEY: "sk-ant-test-e2e",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
      // Our senders leave soon after the test instead of waiting 30 s for more pings.
      TELEMHQ_SENDER_IDLE_MS: "500",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const output = await child.output();
  clearTimeout(killer);
  const stdout = new TextDecoder().decode(output.stdout);
  let sessionId: string | undefined;
  try {
    sessionId = JSON.parse(stdout).session_id;
  } catch {
    sessionId = undefined;
  }
  return { code: output.code, stdout, stderr: new TextDecoder().decode(output.stderr), sessionId };
}
