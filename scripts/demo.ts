/**
 * The demo: starts a TelemHQ stand-in on 127.0.0.1, pipes a recorded Claude
 * Code session's hook events through hook.ts (one process per event, as
 * Claude Code runs it) and prints each ping the stand-in receives.
 *
 * Run: deno task demo [path/to/events.jsonl]
 * Default: the recorded `tools` session (Claude Code 2.1.332) with its
 * transcript, whose prompts, commands, outputs and answers hold planted
 * `SECRET_` markers; its Stop ping carries the turn's tokens and cost.
 */
import {
  copyDirectory,
  hookCommand,
  NEWEST_FIXTURES,
  type ReceivedRequest,
  removeTree,
  SECRET_MARKER,
  startReceiver,
} from "./_dev.ts";

const DEFAULT_EVENTS = `${NEWEST_FIXTURES}/tools/events.jsonl`;
/** The recorded session's HOME (transcripts), whose paths the events name as /home/dev. */
const DEFAULT_HOME = `${NEWEST_FIXTURES}/tools/home`;
/** Fields that are the same in every ping of a session: printed once, under the list. */
const SHOWN_ONCE = [
  "provider",
  "tool",
  "project",
  "session_id",
  "cwd_hash",
  "transcript_path_hash",
  "hook_version",
  "runtime",
];
/** Opaque per-event ids and times: sent, but left out of the demo's lines for readability. */
const PER_EVENT_IDS = ["ping_id", "prompt_id", "tool_use_id", "agent_id", "occurred_at"];

function readEventLines(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter((line) => line.trim() !== "");
  } catch (error) {
    throw new Error(`Cannot read events file "${path}": ${(error as Error).message}`);
  }
}

async function pipeThroughHook(
  line: string,
  pingUrl: string,
  stateDir: string,
  claudeDir: string | undefined,
): Promise<void> {
  const [command, ...args] = hookCommand("deno", stateDir);
  const child = new Deno.Command(command, {
    args,
    env: {
      TELEMHQ_PING_URL: pingUrl,
      TELEMHQ_HOOK_DEBUG: "1",
      TELEMHQ_STATE_DIR: stateDir,
      TELEMHQ_SENDER_IDLE_MS: "500",
      // Claude Code's folder, where the sender reads transcripts from (and from nowhere else).
      ...(claudeDir === undefined ? {} : { CLAUDE_CONFIG_DIR: claudeDir }),
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(line));
  await writer.close();
  const { code, stdout } = await child.output();
  if (code !== 0 || stdout.length > 0) throw new Error(`The hook exited ${code} or wrote to stdout: a bug`);
}

function describe(request: ReceivedRequest): string {
  const ping = JSON.parse(request.body) as Record<string, unknown>;
  const { event, status, ...rest } = ping;
  const details = Object.entries(rest)
    .filter(([key]) => !SHOWN_ONCE.includes(key) && !PER_EVENT_IDS.includes(key))
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(" ");
  return `${String(event).padEnd(19)} ${String(status).padEnd(7)} ${details}`;
}

async function main(): Promise<void> {
  const path = Deno.args[0] ?? DEFAULT_EVENTS;
  // A throwaway state directory (spool, sender lock), so the demo leaves nothing in ~/.claude;
  // for the recorded session, a copy of its HOME, so the hook finds its transcript.
  const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-demo-" });
  let lines = readEventLines(path);
  if (Deno.args[0] === undefined) {
    copyDirectory(DEFAULT_HOME, `${stateDir}/home`);
    lines = lines.map((line) => line.replaceAll("/home/dev", `${stateDir}/home`));
  }
  const receiver = await startReceiver();
  try {
    console.log(`TelemHQ stand-in listening on ${new URL(receiver.url).origin}`);
    console.log(`Piping ${lines.length} recorded hook events through hook.ts (one Deno process each)...\n`);
    const claudeDir = Deno.args[0] === undefined ? `${stateDir}/home/.claude` : undefined;
    for (const line of lines) await pipeThroughHook(line, receiver.url, stateDir, claudeDir);
    // The hook hands each ping to a detached sender and returns; the sender delivers them.
    await receiver.waitFor(lines.length, 10_000);
    const byTime = [...receiver.requests].sort((a, b) =>
      JSON.parse(a.body).occurred_at.localeCompare(JSON.parse(b.body).occurred_at)
    );
    for (const request of byTime) console.log(describe(request));
    const first = JSON.parse(receiver.requests[0].body) as Record<string, unknown>;
    console.log(
      `\nEvery ping also carries: ${SHOWN_ONCE.map((key) => `${key}=${JSON.stringify(first[key])}`).join(" ")}`,
    );
    console.log(`and its own ${PER_EVENT_IDS.join(", ")} (see the README, "What leaves the machine").`);
    console.log(
      "The demo pipes every event through the hook to show each kind of ping; install and the plugin wire Stop, StopFailure, " +
        "SubagentStop and SessionEnd (and with --tool-activity, PostToolUse and PostToolUseFailure).",
    );
    const planted = lines.filter((line) => line.includes(SECRET_MARKER)).length;
    const leaked = receiver.requests.filter((request) => request.body.includes(SECRET_MARKER)).length;
    console.log(`\n${receiver.requests.length} pings received for ${lines.length} events.`);
    console.log(
      `${planted} events held planted "${SECRET_MARKER}" content (prompts, commands, outputs, answers); ${leaked} pings carried any of it.`,
    );
    const turns = receiver.requests.map((request) => JSON.parse(request.body)).filter((ping) => ping.event === "Stop");
    if (claudeDir !== undefined && !turns.every((ping) => typeof ping.total_tokens === "number")) {
      console.error("The Stop ping carries no tokens: the sender could not read the recorded transcript. A bug.");
      Deno.exit(1);
    }
    if (leaked > 0) Deno.exit(1);
  } finally {
    await receiver.close();
    // The sender may still be writing its journal: removing its folder makes it leave.
    await removeTree(stateDir);
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
