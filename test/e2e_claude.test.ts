// End to end with the real Claude Code: `claude -p` runs scripted turns against
// the Messages API stand-in, its hooks run our hook, and a real receiver on
// 127.0.0.1 gets the pings. A recorder hook beside ours keeps what Claude Code
// actually fired, so every fired event can be matched to its ping.
import assert from "node:assert/strict";
import { type AnthropicStandIn, startAnthropicStandIn } from "../scripts/_anthropic_standin.ts";
import {
  type ClaudeSession,
  newSession,
  PRINT_MODE_EVENTS,
  recordedEvents,
  recorderCommand,
  runClaude,
  shellQuote,
  writeSettings,
} from "../scripts/_claude.ts";
import {
  HOOK_PATH,
  hookCommand,
  launcherLine,
  listState,
  NEWEST_FIXTURES,
  pathWithClaude,
  readEvents,
  type ReceivedRequest,
  type Receiver,
  removeTree,
  runProcess,
  runtimeBinary,
  type RuntimeName,
  RUNTIMES,
  SECRET_MARKER,
  startReceiver,
} from "./_helpers.ts";

/** How Claude Code shows a hook's stdout to the model (seen in 2.1.332's requests). */
const HOOK_STDOUT_IN_REQUEST = /hook (success|additional context|blocking error)/i;

function eventKey(event: Record<string, unknown>): string {
  return [event.hook_event_name ?? event.event, event.tool_name ?? "", event.tool_use_id ?? "", event.agent_id ?? ""]
    .join("|");
}

/**
 * Everything wrong with one session, as readable lines: a fired event without
 * exactly one ping, a ping nobody fired, a wrong status, leaked content, or
 * hook output that reached the model.
 */
function problemsOf(
  fired: Record<string, unknown>[],
  pings: ReceivedRequest[],
  apiBodies: string[],
  mayBeLost: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  const parsed = pings.map((ping) => JSON.parse(ping.body) as Record<string, unknown>);
  const unmatched = [...parsed];
  for (const event of fired) {
    const index = unmatched.findIndex((ping) => eventKey(ping) === eventKey(event));
    if (index === -1) {
      if (!mayBeLost.includes(String(event.hook_event_name))) problems.push(`no ping for fired ${eventKey(event)}`);
      continue;
    }
    const [ping] = unmatched.splice(index, 1);
    const failed = event.hook_event_name === "PostToolUseFailure" || event.hook_event_name === "StopFailure";
    if (ping.status !== (failed ? "failed" : "success")) {
      problems.push(`wrong status ${ping.status} for ${eventKey(event)}`);
    }
    if (ping.session_id !== event.session_id) problems.push(`wrong session_id for ${eventKey(event)}`);
  }
  for (const ping of unmatched) problems.push(`ping for an event that was not fired: ${eventKey(ping)}`);
  for (const ping of pings) {
    if (ping.body.includes(SECRET_MARKER)) problems.push(`leaked content: ${ping.body.slice(0, 200)}`);
  }
  for (const body of apiBodies) {
    const shown = body.match(HOOK_STDOUT_IN_REQUEST);
    if (shown) problems.push(`hook stdout reached the model: "${shown[0]}"`);
  }
  return problems;
}

interface Harness {
  api: AnthropicStandIn;
  receiver: Receiver;
  session: ClaudeSession;
  firedDir: string;
}

/** A hook command line for a session: given the session's state directory. */
type HookFor = (session: ClaudeSession) => string;

async function withHarness(hook: HookFor, body: (harness: Harness) => Promise<void>): Promise<void> {
  const api = await startAnthropicStandIn();
  const receiver = await startReceiver();
  const session = newSession();
  const firedDir = `${session.home}/fired`;
  Deno.mkdirSync(firedDir);
  writeSettings(session.settings, [recorderCommand(firedDir), hook(session)]);
  try {
    await body({ api, receiver, session, firedDir });
  } finally {
    await Promise.all([api.close(), receiver.close()]);
    await removeTree(session.home);
  }
}

/** Waits until the receiver has a ping for each fired event (bounded), then lists the problems. */
async function settledProblems(harness: Harness, timeoutMs = 10_000): Promise<string[]> {
  const fired = recordedEvents(harness.firedDir);
  const apiError = fired.some((event) => event.hook_event_name === "StopFailure");
  const mayBeLost = apiError ? MAY_BE_LOST : [];
  const lost = fired.filter((event) => mayBeLost.includes(String(event.hook_event_name))).length;
  await harness.receiver.waitFor(fired.length - lost, timeoutMs).catch(() => {});
  return problemsOf(fired, harness.receiver.requests, harness.api.bodies, mayBeLost);
}

/**
 * After an API error in print mode Claude Code exits at once and kills the
 * StopFailure and SessionEnd hooks 15-50 ms after they start: a Deno or Bun
 * process run directly is often killed before it has spooled its ping. The
 * shell fast path (tested below) loses none of them.
 */
const MAY_BE_LOST: readonly string[] = ["StopFailure", "SessionEnd"];

const SINGLE_TURN = [
  ["plain", ["SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"]],
  ["tools", ["PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Stop"]],
  ["subagent", ["SubagentStart", "SubagentStop", "Stop"]],
  ["stop-failure", ["StopFailure", "SessionEnd"]],
] as const;

for (const runtime of RUNTIMES) {
  const hook: HookFor = (session) => hookCommand(runtime, session.stateDir).map(shellQuote).join(" ");

  for (const [scenario, mustFire] of SINGLE_TURN) {
    Deno.test(`claude -p, ${scenario}, hook under ${runtime}: one clean ping per fired event`, async () => {
      await withHarness(hook, async (harness) => {
        const run = await runClaude(harness.session, {
          prompt: `please SCENARIO:${scenario} SECRET_PROMPT do it`,
          apiUrl: harness.api.url,
          env: { TELEMHQ_PING_URL: harness.receiver.url },
        });
        assert.equal(run.code, scenario === "stop-failure" ? 1 : 0, run.stderr);
        const fired = recordedEvents(harness.firedDir).map((event) => event.hook_event_name);
        for (const name of mustFire) assert.ok(fired.includes(name), `${name} did not fire: ${fired}`);
        assert.deepEqual(await settledProblems(harness), []);
        const events = harness.receiver.requests.map((request) => JSON.parse(request.body));
        const stopFailure = events.find((event) => event.event === "StopFailure");
        if (stopFailure) assert.equal(stopFailure.error, "invalid_request");
        if (scenario === "tools") {
          const failure = events.find((event) => event.event === "PostToolUseFailure");
          assert.equal(failure?.tool_name, "Bash");
          assert.equal(failure?.error, undefined, "a tool failure's output is never sent");
        }
      });
    });
  }

  Deno.test(`claude -p then --resume, hook under ${runtime}: both turns' pings, one session`, async () => {
    await withHarness(hook, async (harness) => {
      const env = { TELEMHQ_PING_URL: harness.receiver.url };
      const first = await runClaude(harness.session, {
        prompt: "turn one SCENARIO:two-turns-1 SECRET_PROMPT_1",
        apiUrl: harness.api.url,
        env,
      });
      assert.equal(first.code, 0, first.stderr);
      assert.ok(first.sessionId);
      const second = await runClaude(harness.session, {
        prompt: "turn two SCENARIO:two-turns-2 SECRET_PROMPT_2",
        apiUrl: harness.api.url,
        env,
        resume: first.sessionId,
      });
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(await settledProblems(harness), []);
      const events = harness.receiver.requests.map((request) => JSON.parse(request.body));
      assert.deepEqual(events.filter((event) => event.event === "SessionStart").map((event) => event.source).sort(), [
        "resume",
        "startup",
      ]);
      assert.equal(new Set(events.map((event) => event.session_id)).size, 1);
      assert.equal(events.filter((event) => event.event === "Stop").length, 2);
      assert.equal(new Set(events.map((event) => event.ping_id)).size, events.length, "every ping has its own ping_id");
    });
  });
}

Deno.test("the end-to-end checks catch a hook that leaks content, drops events and writes to stdout", async () => {
  // A deliberately bad hook: forwards the raw event, skips PreToolUse, and prints.
  const bad = `input=$(cat); case "$input" in *'"PreToolUse"'*) exit 0;; esac; ` +
    `printf '%s' "$input" | curl -s -o /dev/null -X POST --data-binary @- "$TELEMHQ_PING_URL"; echo noisy-hook-output`;
  await withHarness(() => bad, async (harness) => {
    const run = await runClaude(harness.session, {
      prompt: "please SCENARIO:tools SECRET_PROMPT do it",
      apiUrl: harness.api.url,
      env: { TELEMHQ_PING_URL: harness.receiver.url },
    });
    assert.equal(run.code, 0, run.stderr);
    const problems = await settledProblems(harness, 2000);
    assert.ok(problems.some((problem) => problem.startsWith("no ping for fired PreToolUse")), problems.join("\n"));
    assert.ok(problems.some((problem) => problem.startsWith("leaked content")), problems.join("\n"));
    assert.ok(problems.some((problem) => problem.startsWith("hook stdout reached the model")), problems.join("\n"));
  });
});

/** The events a recorded session of the pinned Claude Code fired, by name. */
function recordedEventNames(scenario: string): string[] {
  return readEvents(scenario, NEWEST_FIXTURES).map((event) => String(event.hook_event_name)).sort();
}

for (const runtime of RUNTIMES) {
  for (const scenario of ["tools", "stop-failure"] as const) {
    Deno.test(`claude -p, ${scenario}, every hook async through the shell fast path (${runtime} sender): no ping lost`, async () => {
      // The fast path ignores Claude Code's SIGTERM until the ping is spooled: no session may lose one.
      assert.deepEqual(await fastPathSession(runtime, scenario), []);
    });
  }
}

Deno.test("soak: claude -p sessions ending in StopFailure on a machine kept busy by CPU hogs lose no ping", async () => {
  // Two busy loops keep both cores at work, so the hooks Claude Code ends 15-50 ms after their start are
  // slow to get going: the window in which the old fast path lost about one session in 30.
  const hogs = [0, 1].map(() =>
    new Deno.Command("/bin/sh", { args: ["-c", "while :; do :; done"], stdout: "null", stderr: "null" }).spawn()
  );
  try {
    const problems: string[] = [];
    for (let index = 0; index < 6; index++) {
      const runtime = RUNTIMES[index % RUNTIMES.length];
      for (const problem of await fastPathSession(runtime, "stop-failure")) {
        problems.push(`#${index} ${runtime}: ${problem}`);
      }
    }
    assert.deepEqual(problems, []);
  } finally {
    for (const hog of hogs) {
      hog.kill("SIGKILL");
      await hog.status;
    }
  }
});

/** One `claude -p` session with every hook async through the fast path; returns what went wrong. */
async function fastPathSession(runtime: RuntimeName, scenario: string): Promise<string[]> {
  const api = await startAnthropicStandIn();
  const receiver = await startReceiver();
  const session = newSession();
  try {
    // Only our hook, every event async: Claude Code waits for none of them and exits right
    // after the turn, ending what still runs. The fast path is done by then.
    const command = launcherLine(runtime);
    writeSettings(session.settings, [command], PRINT_MODE_EVENTS, { async: true });
    const run = await runClaude(session, {
      prompt: `please SCENARIO:${scenario} SECRET_PROMPT do it`,
      apiUrl: api.url,
      env: { TELEMHQ_PING_URL: receiver.url },
    });
    assert.equal(run.code, scenario === "stop-failure" ? 1 : 0, run.stderr);
    const expected = recordedEventNames(scenario);
    await receiver.waitFor(expected.length, 15_000).catch(() => {});
    assert.ok(receiver.requests.every((request) => !request.body.includes(SECRET_MARKER)), "no content leaked");
    const sent = receiver.requests.map((request) => String(JSON.parse(request.body).event)).sort();
    const missing = [...expected];
    for (const event of sent) missing.splice(missing.indexOf(event), missing.includes(event) ? 1 : 0);
    const extra = sent.filter((event) => !expected.includes(event));
    if (missing.length === 0 && extra.length === 0) return [];
    const spooled = listState(session.stateDir, "spool").join(", ") || "nothing (never spooled)";
    return [
      `missing ${missing.join(", ") || "-"}`,
      `unexpected ${extra.join(", ") || "-"}`,
      `left in the spool: ${spooled}`,
    ];
  } finally {
    await Promise.all([api.close(), receiver.close()]);
    await removeTree(session.home);
  }
}

for (const runtime of RUNTIMES) {
  Deno.test(`claude -p with settings written by install (${runtime}): Stop carries the exact tokens the API returned`, async () => {
    const api = await startAnthropicStandIn();
    const receiver = await startReceiver();
    const session = newSession();
    try {
      const binary = runtime === "deno" ? [runtimeBinary("deno"), "run", "-A"] : [runtimeBinary("bun")];
      const install = await runProcess([...binary, HOOK_PATH, "install", "--url", receiver.url, "--tool-activity"], {
        cwd: session.cwd,
        env: { HOME: session.home, PATH: pathWithClaude() },
      });
      assert.equal(install.code, 0, install.stderr);
      Deno.writeTextFileSync(session.settings, "{}"); // the hooks come from ~/.claude/settings.json
      const run = await runClaude(session, { prompt: "please SCENARIO:tools SECRET_PROMPT do it", apiUrl: api.url });
      assert.equal(run.code, 0, run.stderr);
      // Stop, SessionEnd, and tool activity: Bash's PostToolUse and PostToolUseFailure (Read is not in the matcher).
      await receiver.waitFor(4, 15_000);
      const pings = receiver.requests.map((request) => JSON.parse(request.body));
      assert.deepEqual(
        pings.map((ping) => ping.event).sort(),
        ["PostToolUse", "PostToolUseFailure", "SessionEnd", "Stop"],
      );
      const stop = pings.find((ping) => ping.event === "Stop");
      const returned = api.usage.filter((record) => record.error_status === null);
      for (
        const field of [
          "input_tokens",
          "output_tokens",
          "cache_creation_input_tokens",
          "cache_read_input_tokens",
        ] as const
      ) {
        assert.equal(stop[field], returned.reduce((sum, record) => sum + record.usage[field], 0), field);
      }
      assert.equal(stop.api_requests, returned.length);
      assert.equal(stop.model, "claude-sonnet-4-5");
      assert.equal(pings.find((ping) => ping.event === "SessionEnd").session_output_tokens, stop.output_tokens);
      assert.ok(receiver.requests.every((request) => !request.body.includes(SECRET_MARKER)));
    } finally {
      await Promise.all([api.close(), receiver.close()]);
      await removeTree(session.home);
    }
  });
}
