// The hook as Claude Code runs it: a real Deno or Bun process, the event on
// stdin, settings in the environment, a real HTTP receiver on 127.0.0.1.
import assert from "node:assert/strict";
import { buildPayload } from "../mod.ts";
import {
  allEvents,
  hookCommand,
  type HookRun,
  listState,
  type Receiver,
  removeTree,
  runHook,
  runProcess,
  RUNTIMES,
  SECRET_MARKER,
  startReceiver,
  tempStateDir,
  testEnv,
  waitUntil,
} from "./_helpers.ts";

/** Fields that depend on when and where the hook ran, compared separately. */
const VOLATILE = ["occurred_at", "ping_id", "runtime"];

function withoutVolatile(payload: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(payload).filter(([key]) => !VOLATILE.includes(key)));
}

function assertUndisturbing(run: HookRun, label: string): void {
  assert.equal(run.signal, null, `${label}: the hook was killed instead of exiting`);
  assert.equal(run.code, 0, `${label}: exit code`);
  assert.equal(run.stdout, "", `${label}: the hook wrote to stdout, which Claude Code reads`);
}

/** Runs `body` with a fresh receiver and state directory, and removes both whatever happens. */
async function withReceiver(
  body: (receiver: Receiver, stateDir: string) => Promise<void>,
  respond?: Parameters<typeof startReceiver>[0],
): Promise<void> {
  const receiver = await startReceiver(respond);
  const stateDir = tempStateDir();
  try {
    await body(receiver, stateDir);
  } finally {
    await receiver.close();
    await removeTree(stateDir);
  }
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: every recorded event arrives as one JSON ping equal to buildPayload(), silently`, async () => {
    await withReceiver(async (receiver, stateDir) => {
      const events = allEvents();
      for (const { scenario, line, event } of events) {
        const run = await runHook(
          runtime,
          JSON.stringify(event),
          testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url }),
        );
        const label = `${runtime} ${scenario}:${line}`;
        assertUndisturbing(run, label);
        assert.equal(run.stderr, "", `${label}: stderr without TELEMHQ_HOOK_DEBUG`);
      }
      await receiver.waitFor(events.length);
      const received = receiver.requests.map((request) => JSON.parse(request.body));
      for (const ping of received) assert.match(ping.runtime, new RegExp(`^${runtime}/\\d+\\.\\d+`));
      const expected = await Promise.all(events.map(({ event }) => buildPayload(event, { fallbackCwd: "/", runtime })));
      // No transcript is readable here: a Stop adds nothing to its session, a StopFailure a turn that used nothing.
      for (const ping of expected.filter((ping) => ping.event === "SessionEnd")) {
        const failed = expected.filter((turn) => turn.event === "StopFailure" && turn.session_id === ping.session_id);
        if (failed.length === 0) continue;
        Object.assign(ping, {
          session_input_tokens: 0,
          session_output_tokens: 0,
          session_cache_creation_input_tokens: 0,
          session_cache_read_input_tokens: 0,
          session_total_tokens: 0,
          session_cost_usd: 0,
          session_api_requests: 0,
          session_turns: failed.length,
        });
      }
      const canonical = (pings: object[]) =>
        pings.map((ping) => JSON.stringify(Object.entries(withoutVolatile(ping)).sort())).sort();
      assert.deepEqual(canonical(received), canonical(expected), "one ping per event, equal to buildPayload()");
      for (const request of receiver.requests) {
        assert.equal(request.method, "POST");
        assert.equal(request.path, new URL(receiver.url).pathname);
        assert.equal(request.headers["content-type"], "application/json");
        assert.ok(!request.body.includes(SECRET_MARKER), `leaked ${request.body}`);
      }
      await waitUntil(() => listState(stateDir, "spool").length === 0, "an empty spool");
    });
  });

  Deno.test(`${runtime}: without TELEMHQ_PING_URL the hook exits 0 silently, and says why only under debug`, async () => {
    const stateDir = tempStateDir();
    const event = JSON.stringify(allEvents()[0].event);
    const quiet = await runHook(runtime, event, testEnv(stateDir));
    assertUndisturbing(quiet, "no URL");
    assert.equal(quiet.stderr, "");
    const debug = await runHook(runtime, event, testEnv(stateDir, { TELEMHQ_HOOK_DEBUG: "1" }));
    assertUndisturbing(debug, "no URL, debug");
    assert.equal(debug.stderr, "TelemHQ hook: TELEMHQ_PING_URL is not set (nor saved by install): nothing sent\n");
    assert.deepEqual(listState(stateDir), [], "nothing spooled");
    await removeTree(stateDir);
  });

  Deno.test(`${runtime}: bad input is a clean no-op with a one-line reason under debug`, async () => {
    await withReceiver(async (receiver, stateDir) => {
      const cases: [string, string | Uint8Array, RegExp][] = [
        ["empty stdin", "", /stdin was empty/],
        ["not JSON", "Stop SECRET_TEXT", /not valid JSON/],
        ["a JSON array", "[1,2,3]", /not an object/],
        ["a JSON string", '"Stop"', /not an object/],
        [
          "invalid UTF-8",
          new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
          /not valid UTF-8/,
        ],
        ["truncated JSON", '{"hook_event_name":"Stop","session_id":"ab', /not valid JSON/],
      ];
      for (const [label, stdin, reason] of cases) {
        for (const debug of [false, true]) {
          const env = testEnv(stateDir, {
            TELEMHQ_PING_URL: receiver.url,
            ...(debug ? { TELEMHQ_HOOK_DEBUG: "1" } : {}),
          });
          const run = await runHook(runtime, stdin, env);
          assertUndisturbing(run, label);
          if (debug) {
            assert.match(run.stderr, reason, label);
            assert.equal(run.stderr.trimEnd().split("\n").length, 1, `${label}: one line`);
            assert.ok(!run.stderr.includes(SECRET_MARKER) && !run.stderr.includes(receiver.token));
          } else {
            assert.equal(run.stderr, "", label);
          }
        }
      }
      assert.deepEqual(listState(stateDir, "spool"), [], "bad input spools nothing");
      assert.equal(receiver.requests.length, 0, "bad input sends nothing");
    });
  });

  Deno.test(`${runtime}: wrong field types, deep nesting and a 40 MB assistant message still send a clean ping`, async () => {
    await withReceiver(async (receiver, stateDir) => {
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_HOOK_DEBUG: "1" });
      const wrongTypes = { hook_event_name: "Stop", session_id: 12, cwd: { SECRET_: 1 }, tool_name: ["SECRET_"] };
      const deep = `{"hook_event_name":"PostToolUse","tool_response":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
      const big = JSON.stringify({
        hook_event_name: "Stop",
        session_id: "s-big",
        last_assistant_message: "é😀".repeat(14_000_000),
      });
      assert.ok(big.length > 40_000_000);
      for (const [label, stdin] of [["wrong types", JSON.stringify(wrongTypes)], ["deep", deep], ["40 MB", big]]) {
        const run = await runHook(runtime, stdin, env);
        assertUndisturbing(run, label);
        assert.equal(run.stderr, "", `${label}: ${run.stderr}`);
      }
      await receiver.waitFor(3);
      const pings = receiver.requests.map((request) => JSON.parse(request.body));
      const typed = pings.find((ping) => ping.event === "Stop" && ping.session_id === undefined);
      assert.ok(typed, "the ping with wrong types arrived");
      assert.equal(typed.tool_name, undefined);
      assert.ok(pings.some((ping) => ping.event === "PostToolUse"), "the deeply nested event's ping arrived");
      assert.equal(pings.find((ping) => ping.session_id === "s-big")?.last_assistant_message_chars, 28_000_000);
      assert.ok(receiver.requests.every((request) => request.body.length < 2048), "pings stay small");
    });
  });

  Deno.test(`${runtime}: the token is never printed, and plain http to a non-loopback host is refused`, async () => {
    const stateDir = tempStateDir();
    const event = JSON.stringify(allEvents()[2].event);
    const token = "SECRET_TOKEN_abc123";
    for (
      const [url, reason] of [
        [`http://telemhq.example/ping/${token}`, /plain http to telemhq\.example.*use https/],
        [`ftp://127.0.0.1/ping/${token}`, /unsupported scheme/],
        [`not a url ${token}`, /not a valid URL/],
      ] as const
    ) {
      const run = await runHook(runtime, event, testEnv(stateDir, { TELEMHQ_PING_URL: url, TELEMHQ_HOOK_DEBUG: "1" }));
      assertUndisturbing(run, url);
      assert.match(run.stderr, reason);
      assert.ok(!run.stderr.includes(token), `token printed: ${run.stderr}`);
    }
    assert.deepEqual(listState(stateDir, "spool"), [], "a refused URL spools nothing");
    await removeTree(stateDir);
  });

  Deno.test(`${runtime}: a receiver that never answers does not hold the hook; the ping is retried and arrives`, async () => {
    await withReceiver(async (receiver, stateDir) => {
      const run = await runHook(
        runtime,
        JSON.stringify(allEvents()[2].event),
        testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_TIMEOUT_MS: "300", TELEMHQ_HOOK_DEBUG: "1" }),
        { killAfterMs: 20_000 },
      );
      assertUndisturbing(run, "hanging receiver");
      assert.equal(run.stderr, "");
      await receiver.waitFor(2);
      assert.equal(receiver.requests[0].body, receiver.requests[1].body, "the retry sends the same ping");
      await waitUntil(() => listState(stateDir, "spool").length === 0, "an empty spool");
    }, (_request, index) => index === 0 ? "hang" : { status: 200 });
  });

  Deno.test(`${runtime}: a redirect is not followed, so the ping and its token go nowhere else`, async () => {
    await withReceiver(async (receiver, stateDir) => {
      const run = await runHook(
        runtime,
        JSON.stringify(allEvents()[2].event),
        testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url }),
      );
      assertUndisturbing(run, "redirect");
      await waitUntil(
        () => listState(stateDir, "failed").length === 1 && listState(stateDir).includes("status.json"),
        "the redirected ping in failed/, and status.json",
      );
      assert.equal(receiver.requests.length, 1, "only the first request arrived");
      const status = JSON.parse(Deno.readTextFileSync(`${stateDir}/status.json`));
      assert.match(status.last_error.reason, /redirect/);
      assert.ok(!JSON.stringify(status).includes(receiver.token), "status.json never holds the token");
    }, (request) => ({ status: 307, headers: { location: `${request.path}/elsewhere` } }));
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: "command" prints a settings.json command that delivers a ping as it stands`, async () => {
    await withReceiver(async (receiver, stateDir) => {
      const hook = hookCommand(runtime, stateDir);
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url });
      const printed: string[] = [];
      for (const extra of [[], ["--direct"]]) {
        const output = await runProcess([...hook, "command", ...extra], { env });
        assert.equal(output.code, 0);
        printed.push(output.stdout.trim());
      }
      assert.match(
        printed[0],
        new RegExp(`^trap '' TERM HUP; exec /bin/sh \\S+/hooks/telemhq\\.sh --${runtime} /\\S+ --hook \\S+/hook\\.ts`),
      );
      assert.match(
        printed[1],
        new RegExp(`^/\\S*${runtime}\\S* `),
        "an absolute runtime path: hooks may get a minimal PATH",
      );
      for (const [index, command] of printed.entries()) {
        const stdin = JSON.stringify({ ...allEvents()[2].event, prompt_id: `p-${index}` });
        const output = await runProcess(["/bin/sh", "-c", command], { env, stdin });
        assert.equal(output.code, 0);
        assert.equal(output.stdout, "");
      }
      await receiver.waitFor(2);
      const unknown = await runProcess([...hook, "command", "--fast"], { env });
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /^Unknown option "--fast"\. Run with --help/);
    });
  });
}

Deno.test("bun: a turn's ping names the repository (origin's owner/name, never its URL) and the member label set", async () => {
  const receiver = await startReceiver();
  const stateDir = tempStateDir();
  const repo = Deno.makeTempDirSync({ prefix: "telemhq-repo-" });
  try {
    Deno.mkdirSync(`${repo}/.git`);
    Deno.writeTextFileSync(
      `${repo}/.git/config`,
      '[remote "origin"]\n\turl = https://ci:SECRET_TOKEN@github.com/acme/api.git\n',
    );
    const env = { ...testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url }), TELEMHQ_MEMBER: "ana@acme" };
    const stop = { hook_event_name: "Stop", session_id: "s-repo", prompt_id: "p1", cwd: repo };
    assert.equal((await runHook("bun", JSON.stringify(stop), env, { cwd: repo })).code, 0);
    const tool = { hook_event_name: "PostToolUse", session_id: "s-repo", tool_use_id: "toolu_1", cwd: repo };
    assert.equal((await runHook("bun", JSON.stringify(tool), env, { cwd: repo })).code, 0);
    await receiver.waitFor(2);
    const pings = receiver.requests.map((request) => JSON.parse(request.body));
    const stopPing = pings.find((ping) => ping.event === "Stop");
    assert.equal(stopPing.git_repo, "acme/api");
    assert.equal(stopPing.member, "ana@acme");
    const toolPing = pings.find((ping) => ping.event === "PostToolUse");
    assert.equal(toolPing.git_repo, undefined, "tool events stay as fast as they were");
    assert.equal(toolPing.member, "ana@acme");
    assert.ok(receiver.requests.every((request) => !request.body.includes("SECRET_TOKEN")));
  } finally {
    await receiver.close();
    await removeTree(stateDir);
    Deno.removeSync(repo, { recursive: true });
  }
});
