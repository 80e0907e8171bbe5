// A real session's pings, sent by real hook processes to a real receiver,
// carry each turn's usage and the session's totals, and nothing else.
import assert from "node:assert/strict";
import { PAYLOAD_FIELDS } from "../mod.ts";
import {
  copyDirectory,
  HOOK_PATH,
  removeTree,
  ROOT,
  runHook,
  runProcess,
  runtimeBinary,
  RUNTIMES,
  startReceiver,
  tempStateDir,
  testEnv,
} from "./_helpers.ts";

const TOKEN_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
] as const;

function jsonLines(path: string): Record<string, unknown>[] {
  return Deno.readTextFileSync(path).split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}

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
      // The session lives in this HOME: the sender reads transcripts only from its Claude Code folder.
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, HOME: home });
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
      for (const ping of pings) {
        for (const field of Object.keys(ping)) {
          assert.ok((PAYLOAD_FIELDS as readonly string[]).includes(field), `${ping.event} sent ${field}`);
        }
      }
    } finally {
      await receiver.close();
      await removeTree(stateDir);
      await removeTree(home);
    }
  });
}

/** Ten turns of Claude 3.5 Haiku, each one input token ($0.8/M) and five cache reads ($0.08/M): $0.0000012 a turn. */
function badlyRoundingSession(
  dir: string,
  sessionId: string,
  version = "2.1.332",
): { transcript: string; events: string[] } {
  const transcript = `${dir}/.claude/projects/-work-api/${sessionId}.jsonl`;
  Deno.mkdirSync(`${dir}/.claude/projects/-work-api`, { recursive: true });
  const lines: string[] = [];
  const events: string[] = [];
  const common = { hook_event_name: "Stop", session_id: sessionId, transcript_path: transcript, cwd: `${dir}/api` };
  for (let turn = 1; turn <= 10; turn++) {
    const at = new Date(Date.UTC(2026, 11, 1, 10, turn)).toISOString();
    lines.push(JSON.stringify({
      type: "user",
      promptId: `p${turn}`,
      uuid: `u${turn}`,
      timestamp: at,
      sessionId,
      version,
      message: { role: "user", content: `turn ${turn} SECRET_PROMPT` },
    }));
    lines.push(JSON.stringify({
      type: "assistant",
      uuid: `a${turn}`,
      requestId: `req_${turn}`,
      timestamp: at,
      sessionId,
      version,
      message: {
        id: `msg_${turn}`,
        model: "claude-3-5-haiku-20241022",
        content: [{ type: "text", text: "SECRET_ANSWER" }],
        usage: { input_tokens: 1, output_tokens: 0, cache_read_input_tokens: 5, cache_creation_input_tokens: 0 },
      },
    }));
    events.push(JSON.stringify({ ...common, prompt_id: `p${turn}` }));
  }
  Deno.writeTextFileSync(transcript, lines.join("\n") + "\n");
  events.push(JSON.stringify({ ...common, hook_event_name: "SessionEnd", reason: "other" }));
  return { transcript, events };
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: session_cost_usd is the exact sum of every response's cost, rounded once, not a sum of rounded turns`, async () => {
    const home = Deno.makeTempDirSync({ prefix: "telemhq-usage-home-" });
    const stateDir = tempStateDir();
    const receiver = await startReceiver();
    try {
      const { events } = badlyRoundingSession(home, "5e55e55e-0000-4000-8000-000000000010");
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, HOME: home });
      for (const event of events) assert.equal((await runHook(runtime, event, env)).code, 0);
      await receiver.waitFor(events.length);
      const pings = receiver.requests.map((request) => JSON.parse(request.body) as Record<string, number & string>);
      const stops = pings.filter((ping) => ping.event === "Stop");
      assert.equal(stops.length, 10);
      // Each turn costs 1.2 micro-dollars: sent rounded to 1; ten of them add up to 10, the truth is 12.
      assert.ok(stops.every((ping) => ping.cost_usd === 0.000001), JSON.stringify(stops.map((p) => p.cost_usd)));
      const end = pings.find((ping) => ping.event === "SessionEnd")!;
      assert.equal(end.session_turns, 10);
      assert.equal(end.session_cost_usd, 0.000012);
    } finally {
      await receiver.close();
      await removeTree(stateDir);
      await removeTree(home);
    }
  });
}

Deno.test("a response from a Claude Code whose cost rules were not checked is priced by the nearest, and log says so", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-usage-home-" });
  const stateDir = tempStateDir();
  const receiver = await startReceiver();
  try {
    const { events } = badlyRoundingSession(home, "5e55e55e-0000-4000-8000-000000000011", "0.2.125");
    const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, HOME: home });
    assert.equal((await runHook("bun", events[0], env)).code, 0);
    await receiver.waitFor(1);
    assert.equal(JSON.parse(receiver.requests[0].body).cost_usd, 0.000001, "priced all the same");
    const log = await runProcess([runtimeBinary("bun"), HOOK_PATH, "log", "--json"], { env });
    const [entry] = log.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.match(
      entry.note,
      /Claude Code 0\.2\.125's cost rules were not checked .*: priced by the 1\.0\.0–1\.0\.3 rules, the nearest/,
    );
    assert.ok(!("note" in entry.ping), "the note is ours, never sent");
  } finally {
    await receiver.close();
    await removeTree(stateDir);
    await removeTree(home);
  }
});
