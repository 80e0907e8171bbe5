// Tokens and cost per turn, read from real transcripts recorded from Claude
// Code 2.1.197 and 2.1.332, held to what the API stand-in actually returned.
import assert from "node:assert/strict";
import {
  MODEL_PRICES,
  priceFor,
  priceTable,
  readLinesBackward,
  readTranscriptUsage,
  readTurnUsage,
  sumUsage,
  type TurnUsage,
} from "../mod.ts";
import {
  copyDirectory,
  removeTree,
  ROOT,
  runHook,
  RUNTIMES,
  SCENARIOS,
  startReceiver,
  tempStateDir,
  testEnv,
} from "./_helpers.ts";

const VERSIONS = ["claude-code-2.1.197", "claude-code-2.1.332"];
const TOKEN_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
] as const;

function jsonLines(path: string): Record<string, unknown>[] {
  return Deno.readTextFileSync(path).split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}

/** A fixture's recorded paths (/home/dev/...) point into its copy in test/fixtures. */
function localPath(version: string, scenario: string, path: unknown): string {
  return String(path).replace("/home/dev", `${ROOT}test/fixtures/${version}/${scenario}/home`);
}

/** The usage every usage-carrying ping of a recorded session would report. */
async function pingUsages(version: string, scenario: string): Promise<TurnUsage[]> {
  const usages: TurnUsage[] = [];
  for (const event of jsonLines(`${ROOT}test/fixtures/${version}/${scenario}/events.jsonl`)) {
    let usage: TurnUsage | undefined;
    if (event.hook_event_name === "Stop" || event.hook_event_name === "StopFailure") {
      usage = await readTurnUsage(
        localPath(version, scenario, event.transcript_path),
        String(event.prompt_id),
        MODEL_PRICES,
      );
    } else if (event.hook_event_name === "SubagentStop") {
      usage = await readTranscriptUsage(localPath(version, scenario, event.agent_transcript_path), MODEL_PRICES);
    }
    if (usage !== undefined) usages.push(usage);
  }
  return usages;
}

for (const version of VERSIONS) {
  Deno.test(`${version}: the session's Stop, StopFailure and SubagentStop pings add up to exactly what the API returned`, async () => {
    for (const scenario of SCENARIOS) {
      const truth = jsonLines(`${ROOT}test/fixtures/${version}/${scenario}/api-usage.jsonl`)
        .filter((record) => record.error_status === null) as { usage: Record<string, number> }[];
      const usages = await pingUsages(version, scenario);
      for (const field of TOKEN_FIELDS) {
        const sent = usages.reduce((sum, usage) => sum + usage[field], 0);
        const returned = truth.reduce((sum, record) => sum + record.usage[field], 0);
        assert.equal(sent, returned, `${scenario}: ${field}`);
      }
      assert.equal(
        usages.reduce((sum, usage) => sum + usage.api_requests, 0),
        truth.length,
        `${scenario}: api_requests`,
      );
    }
  });
}

Deno.test("a response written as four lines (thinking, text, two tool calls) is counted once", async () => {
  const [usage] = await pingUsages("claude-code-2.1.332", "tools");
  assert.equal(usage.api_requests, 3);
  assert.equal(usage.output_tokens, 7 + 14 + 21, "not 4 x 7 for the first response");
  assert.equal(usage.tool_calls, 3);
  assert.equal(usage.model, "claude-sonnet-4-5");
  assert.equal(usage.git_branch, "HEAD");
  assert.ok(usage.duration_ms !== undefined && usage.duration_ms > 0 && usage.duration_ms < 10_000);
});

Deno.test("cost_usd agrees with the cost Claude Code 2.1.332 records in its transcript (cost-state)", async () => {
  for (const scenario of ["plain", "tools", "subagent"]) {
    const dir = `${ROOT}test/fixtures/claude-code-2.1.332/${scenario}/home/.claude/projects/-home-dev-projects-api`;
    const main = [...Deno.readDirSync(dir)].find((entry) => entry.name.endsWith(".jsonl"))!.name;
    const states = jsonLines(`${dir}/${main}`).filter((line) => line.type === "cost-state");
    const recorded = states[states.length - 1].totalCostUSD as number;
    const ours = (await pingUsages("claude-code-2.1.332", scenario)).reduce((sum, usage) => sum + usage.cost_usd!, 0);
    assert.equal(Math.round(ours * 1e6), Math.round(recorded * 1e6), scenario);
  }
});

Deno.test("a turn reads only its own responses, even with later turns after it", async () => {
  const version = "claude-code-2.1.332";
  const events = jsonLines(`${ROOT}test/fixtures/${version}/two-turns/events.jsonl`).filter((event) =>
    event.hook_event_name === "Stop"
  );
  const transcript = localPath(version, "two-turns", events[0].transcript_path);
  const first = await readTurnUsage(transcript, String(events[0].prompt_id), MODEL_PRICES);
  const second = await readTurnUsage(transcript, String(events[1].prompt_id), MODEL_PRICES);
  assert.equal(first?.api_requests, 1);
  assert.equal(second?.api_requests, 2);
  assert.equal(await readTurnUsage(transcript, "no-such-prompt", MODEL_PRICES), undefined);
});

Deno.test("without a prompt id (older transcripts), the turn is everything since the last user prompt", async () => {
  const version = "claude-code-2.1.197";
  const [stop] = jsonLines(`${ROOT}test/fixtures/${version}/tools/events.jsonl`).filter((event) =>
    event.hook_event_name === "Stop"
  );
  const transcript = localPath(version, "tools", stop.transcript_path);
  const withId = await readTurnUsage(transcript, String(stop.prompt_id), MODEL_PRICES);
  const withoutId = await readTurnUsage(transcript, undefined, MODEL_PRICES);
  assert.deepEqual(withoutId, withId);
});

Deno.test("lines of one response that disagree keep the largest counts; synthetic error messages count nothing", () => {
  const line = (output: number, model = "claude-sonnet-4-5", id = "msg_1") => ({
    type: "assistant",
    requestId: "req_1",
    message: { id, model, usage: { input_tokens: 10, output_tokens: output }, content: [{ type: "text" }] },
  });
  const usage = sumUsage([line(3), line(9), line(5), line(0, "<synthetic>", "msg_error")], MODEL_PRICES);
  assert.equal(usage?.output_tokens, 9);
  assert.equal(usage?.input_tokens, 10);
  assert.equal(usage?.api_requests, 1);
});

Deno.test("an unknown model gives no cost_usd (never a made-up 0); a date suffix finds its family", () => {
  const response = (id: string, model: string) => ({
    type: "assistant",
    requestId: id,
    message: { id, model, usage: { input_tokens: 1_000_000, output_tokens: 0 } },
  });
  assert.equal(sumUsage([response("a", "claude-sonnet-4-5-20250929")], MODEL_PRICES)?.cost_usd, 3);
  assert.equal(sumUsage([response("a", "claude-sonnet-4-5[1m]")], MODEL_PRICES)?.cost_usd, 3);
  const mixed = sumUsage([response("a", "claude-sonnet-4-5"), response("b", "some-proxy-model")], MODEL_PRICES);
  assert.equal(mixed?.cost_usd, undefined);
  assert.deepEqual(mixed?.models?.sort(), ["claude-sonnet-4-5", "some-proxy-model"]);
  assert.equal(priceFor("claude-sonnet-4-50", MODEL_PRICES), undefined, "a longer name is another model");
});

Deno.test("TELEMHQ_PRICES adds and overrides models; incomplete or negative prices are ignored", () => {
  const table = priceTable(JSON.stringify({
    "my-model": { input: 1, output: 2, cache_write_5m: 1.25, cache_write_1h: 2, cache_read: 0.1 },
    "claude-sonnet-4-5": { input: 2, output: 10, cache_write_5m: 2.5, cache_write_1h: 4, cache_read: 0.2 },
    "half": { input: 1 },
    "negative": { input: -1, output: 2, cache_write_5m: 1, cache_write_1h: 2, cache_read: 0.1 },
  }));
  assert.equal(table["my-model"].output, 2);
  assert.equal(table["claude-sonnet-4-5"].input, 2);
  assert.equal(table["half"], undefined);
  assert.equal(table["negative"], undefined);
  assert.deepEqual(priceTable("not json"), { ...MODEL_PRICES });
});

Deno.test("readLinesBackward() returns every line, last first, across chunk and multi-byte boundaries", async () => {
  const path = Deno.makeTempFileSync();
  const lines = ["first é", "", "😀😀😀 second", "third " + "x".repeat(50), "last, no newline ü"];
  Deno.writeTextFileSync(path, lines.join("\n"));
  for (const chunk of [1, 3, 7, 64 * 1024]) {
    const read: string[] = [];
    for await (const line of readLinesBackward(path, chunk)) read.push(line);
    assert.deepEqual(read, lines.filter((line) => line !== "").reverse(), `chunks of ${chunk}`);
  }
  Deno.removeSync(path);
});

Deno.test("broken lines and a truncated last line are skipped; a missing transcript is an error the sender absorbs", async () => {
  const version = "claude-code-2.1.332";
  const [stop] = jsonLines(`${ROOT}test/fixtures/${version}/tools/events.jsonl`).filter((event) =>
    event.hook_event_name === "Stop"
  );
  const original = Deno.readTextFileSync(localPath(version, "tools", stop.transcript_path)).trimEnd().split("\n");
  const path = Deno.makeTempFileSync({ suffix: ".jsonl" });
  const damaged = [
    ...original.slice(0, 3),
    "{not json",
    ...original.slice(3),
    '{"type":"assistant","message":{"id":"msg_x"',
  ];
  Deno.writeTextFileSync(path, damaged.join("\n"));
  const usage = await readTurnUsage(path, String(stop.prompt_id), MODEL_PRICES);
  assert.equal(usage?.output_tokens, 42);
  await assert.rejects(() => readTurnUsage(`${path}.missing`, String(stop.prompt_id), MODEL_PRICES));
  Deno.removeSync(path);
});

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: a real session's pings carry each turn's usage, and SessionEnd the session totals`, async () => {
    const version = "claude-code-2.1.332";
    const home = Deno.makeTempDirSync({ prefix: "telemhq-usage-home-" });
    const stateDir = tempStateDir();
    const receiver = await startReceiver();
    try {
      copyDirectory(`${ROOT}test/fixtures/${version}/subagent/home`, home);
      const events = Deno.readTextFileSync(`${ROOT}test/fixtures/${version}/subagent/events.jsonl`).trim().split("\n")
        .map((line) => line.replaceAll("/home/dev", home));
      const missing = JSON.parse(events.find((line) => line.includes('"hook_event_name":"Stop"'))!);
      events.push(
        JSON.stringify({ ...missing, prompt_id: "p-missing", transcript_path: `${home}/no-such-transcript.jsonl` }),
      );
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url });
      for (const event of events) assert.equal((await runHook(runtime, event, env)).code, 0);
      await receiver.waitFor(events.length);
      const pings = receiver.requests.map((request) => JSON.parse(request.body) as Record<string, number & string>);
      const carrying = pings.filter((ping) => ping.total_tokens !== undefined);
      const truth = jsonLines(`${ROOT}test/fixtures/${version}/subagent/api-usage.jsonl`) as {
        usage: Record<string, number>;
      }[];
      for (const field of TOKEN_FIELDS) {
        assert.equal(
          carrying.reduce((sum, ping) => sum + ping[field], 0),
          truth.reduce((sum, r) => sum + r.usage[field], 0),
          field,
        );
      }
      assert.deepEqual(carrying.map((ping) => ping.event).sort(), ["Stop", "Stop", "SubagentStop"]);
      assert.equal(carrying.find((ping) => ping.event === "SubagentStop")?.agent_type, "general-purpose");
      const end = pings.find((ping) => ping.event === "SessionEnd")!;
      assert.equal(end.session_output_tokens, carrying.reduce((sum, ping) => sum + ping.output_tokens, 0));
      assert.equal(end.session_api_requests, truth.length);
      assert.equal(end.session_turns, 2);
      assert.equal(
        Math.round(end.session_cost_usd * 1e6),
        Math.round(carrying.reduce((sum, ping) => sum + ping.cost_usd, 0) * 1e6),
      );
      const withoutTranscript = pings.find((ping) => ping.prompt_id === "p-missing")!;
      assert.equal(withoutTranscript.event, "Stop", "the ping still goes out");
      assert.equal(withoutTranscript.total_tokens, undefined, "without usage fields");
      assert.ok(
        receiver.requests.every((request) => !request.body.includes("SECRET_") && !request.body.includes(home)),
      );
    } finally {
      await receiver.close();
      await removeTree(stateDir);
      await removeTree(home);
    }
  });
}
