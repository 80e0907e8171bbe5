// Tokens and cost per turn, read from real transcripts recorded from Claude
// Code 2.1.197 and 2.1.332, held to what the API stand-in actually returned.
import assert from "node:assert/strict";
import { ROOT, SCENARIOS } from "../scripts/_dev.ts";
import type { PriceBook } from "./prices.ts";
import { readTranscriptUsage, readTurnUsage, sumUsage, TOKEN_FIELDS, type TurnUsage } from "./usage.ts";

/** The catalog's prices, nothing laid over them. */
const PRICES: PriceBook = { overrides: {} };

const VERSIONS = ["claude-code-2.1.197", "claude-code-2.1.332"];

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
        PRICES,
      );
    } else if (event.hook_event_name === "SubagentStop") {
      usage = await readTranscriptUsage(localPath(version, scenario, event.agent_transcript_path), PRICES);
    }
    if (usage !== undefined) usages.push(usage);
  }
  return usages;
}

Deno.test("a response written as four lines (thinking, text, two tool calls) is counted once", async () => {
  const [usage] = await pingUsages("claude-code-2.1.332", "tools");
  assert.equal(usage.api_requests, 3);
  assert.equal(usage.output_tokens, 7 + 14 + 21, "not 4 x 7 for the first response");
  assert.equal(usage.tool_calls, 3);
  assert.equal(usage.model, "claude-sonnet-4-5");
  assert.equal(usage.git_branch, undefined, "HEAD is no branch (no repository, or a detached checkout)");
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
  const first = await readTurnUsage(transcript, String(events[0].prompt_id), PRICES);
  const second = await readTurnUsage(transcript, String(events[1].prompt_id), PRICES);
  assert.equal(first?.api_requests, 1);
  assert.equal(second?.api_requests, 2);
  assert.equal(await readTurnUsage(transcript, "no-such-prompt", PRICES), undefined);
});
Deno.test("without a prompt id (older transcripts), the turn is everything since the last user prompt", async () => {
  const version = "claude-code-2.1.197";
  const [stop] = jsonLines(`${ROOT}test/fixtures/${version}/tools/events.jsonl`).filter((event) =>
    event.hook_event_name === "Stop"
  );
  const transcript = localPath(version, "tools", stop.transcript_path);
  const withId = await readTurnUsage(transcript, String(stop.prompt_id), PRICES);
  const withoutId = await readTurnUsage(transcript, undefined, PRICES);
  assert.deepEqual(withoutId, withId);
});
Deno.test("lines of one response that disagree keep the largest counts; synthetic error messages count nothing", () => {
  const line = (output: number, model = "claude-sonnet-4-5", id = "msg_1") => ({
    type: "assistant",
    requestId: "req_1",
    message: { id, model, usage: { input_tokens: 10, output_tokens: output }, content: [{ type: "text" }] },
  });
  const usage = sumUsage([line(3), line(9), line(5), line(0, "<synthetic>", "msg_error")], PRICES);
  assert.equal(usage?.output_tokens, 9);
  assert.equal(usage?.input_tokens, 10);
  assert.equal(usage?.api_requests, 1);
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
  const usage = await readTurnUsage(path, String(stop.prompt_id), PRICES);
  assert.equal(usage?.output_tokens, 42);
  await assert.rejects(() => readTurnUsage(`${path}.missing`, String(stop.prompt_id), PRICES));
  Deno.removeSync(path);
});
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

Deno.test("a model is sent only as a plain id: free text, paths and ARNs (which hold an account id) are dropped", () => {
  const response = (id: string, model: string, output: number) => ({
    type: "assistant",
    requestId: id,
    message: { id, model, usage: { input_tokens: 1, output_tokens: output } },
  });
  const hostile = "claude-sonnet-4-5 SECRET_\n/home/alice/project";
  const arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc";
  const usage = sumUsage(
    [response("a", hostile, 9), response("b", arn, 5), response("c", "claude-haiku-4-5", 1)],
    PRICES,
  );
  assert.equal(usage?.model, undefined, "the top model is not a plain id: no model at all");
  assert.deepEqual(usage?.models, ["claude-haiku-4-5"]);
  assert.ok(!JSON.stringify(usage).includes("SECRET_") && !JSON.stringify(usage).includes("123456789012"));
});
