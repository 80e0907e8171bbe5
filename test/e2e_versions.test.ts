// End to end with two real Claude Code releases: 2.0.77 (the 2.0 line fleets still pin; it skips a whole
// settings file over one hook event it does not know) and the pinned 2.1.332. Each runs in a clean HOME whose
// settings file already holds the user's own Stop hook: install must keep that hook firing and deliver the
// pings that version can fire, with the tokens the API returned. And 1.0.128 (the 1.0 line), for its own cost rules.
import assert from "node:assert/strict";
import { startAnthropicStandIn } from "../scripts/_anthropic_standin.ts";
import { responseCostUsd } from "../mod.ts";
import { newSession, recordedEvents, recorderCommand, runClaude } from "../scripts/_claude.ts";
import {
  HOOK_PATH,
  pinnedClaudeBinary,
  removeTree,
  ROOT,
  runProcess,
  runtimeBinary,
  startReceiver,
} from "./_helpers.ts";

interface ClaudeCodeRelease {
  version: string;
  /** The file a `claude` on PATH runs. */
  executable: string;
  /** The command the test runs it with. */
  command: readonly string[];
}

const NODE = `${ROOT}tools/node_modules/node-22/bin/node`;
const CLI_2_0_77 = `${ROOT}tools/claude-code-2.0.77/node_modules/@anthropic-ai/claude-code/cli.js`;
const CLI_1_0_128 = `${ROOT}tools/claude-code-1.0.128/node_modules/@anthropic-ai/claude-code/cli.js`;

const RELEASES: readonly ClaudeCodeRelease[] = [
  { version: "2.0.77", executable: CLI_2_0_77, command: [NODE, CLI_2_0_77] },
  { version: "2.1.332", executable: pinnedClaudeBinary(), command: [pinnedClaudeBinary()] },
];

/** A release of the 1.0 line (pinned in tools/claude-code-1.0.128/), for its cost rules: not in the runs above. */
const RELEASE_1_0_128: ClaudeCodeRelease = {
  version: "1.0.128",
  executable: CLI_1_0_128,
  command: [NODE, CLI_1_0_128],
};

const TOKEN_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
] as const;

/** A folder with `claude` (that release) and `node` in it, first on PATH, as an installer leaves it. */
function pathWith(release: ClaudeCodeRelease, home: string): string {
  const bin = `${home}/bin`;
  Deno.mkdirSync(bin, { recursive: true });
  Deno.symlinkSync(release.executable, `${bin}/claude`);
  Deno.symlinkSync(NODE, `${bin}/node`);
  return `${bin}:/usr/bin:/bin`;
}

/** The user's settings before install: their own Stop hook, which records what it gets. */
function userSettings(home: string): string {
  Deno.mkdirSync(`${home}/mine`, { recursive: true });
  const settings = { hooks: { Stop: [{ hooks: [{ type: "command", command: recorderCommand(`${home}/mine`) }] }] } };
  const text = JSON.stringify(settings, null, 2) + "\n";
  Deno.mkdirSync(`${home}/.claude`, { recursive: true });
  Deno.writeTextFileSync(`${home}/.claude/settings.json`, text);
  return text;
}

function sum(records: readonly { usage: Record<string, unknown> }[], field: string): number {
  return records.reduce((total, record) => total + (record.usage[field] as number), 0);
}

for (const release of RELEASES) {
  Deno.test(`Claude Code ${release.version}: after install the user's Stop hook still fires, our Stop ping has the API's tokens, and uninstall restores the file`, async () => {
    const api = await startAnthropicStandIn();
    const receiver = await startReceiver();
    const session = newSession();
    try {
      const original = userSettings(session.home);
      const path = pathWith(release, session.home);
      const hook = [runtimeBinary("bun"), HOOK_PATH];
      const install = await runProcess([...hook, "install", "--url", receiver.url, "--tool-activity"], {
        cwd: session.cwd,
        env: { HOME: session.home, PATH: path },
      });
      assert.equal(install.code, 0, install.stderr);
      assert.match(install.stdout, new RegExp(`Claude Code: ${release.version.replaceAll(".", "\\.")} `));
      const wired = Object.keys(JSON.parse(Deno.readTextFileSync(`${session.home}/.claude/settings.json`)).hooks);
      const older = release.version === "2.0.77";
      assert.equal(wired.includes("StopFailure"), !older, `wired: ${wired}`);
      if (older) assert.match(install.stdout, /Note: Claude Code 2\.0\.77 does not fire StopFailure \(from 2\.1\.78\)/);

      Deno.writeTextFileSync(session.settings, "{}"); // every hook comes from ~/.claude/settings.json
      const run = await runClaude(session, {
        prompt: "please SCENARIO:tools SECRET_PROMPT do it",
        apiUrl: api.url,
        binary: release.command,
        path,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(recordedEvents(`${session.home}/mine`).map((event) => event.hook_event_name), ["Stop"]);

      // 2.0 runs three "Warmup" subagents at startup (Explore, Plan, Bash): each fires SubagentStop.
      const expected = [
        "PostToolUse",
        "PostToolUseFailure",
        "SessionEnd",
        "Stop",
        ...(older ? Array(3).fill("SubagentStop") : []),
      ];
      await receiver.waitFor(expected.length, 20_000);
      const pings = receiver.requests.map((request) => JSON.parse(request.body));
      assert.deepEqual(pings.map((ping) => ping.event).sort(), expected.sort());
      const stop = pings.find((ping) => ping.event === "Stop");
      const turn = api.usage.filter((record) => record.scenario === "tools" && record.error_status === null);
      for (const field of TOKEN_FIELDS) assert.equal(stop[field], sum(turn, field), `Stop ${field}`);
      assert.equal(stop.api_requests, turn.length);
      if (older) {
        // The warmups' transcripts are <project>/agent-<id>.jsonl in 2.0: each SubagentStop carries exactly its
        // own response's tokens. (2.0 also asks Haiku about each Bash command's prefix: a request no transcript
        // holds, which no hook can count.)
        const own = api.usage.filter((record) => record.scenario === undefined);
        const matched = new Set<number>();
        for (const ping of pings.filter((ping) => ping.event === "SubagentStop")) {
          const record = own.find((record) =>
            !matched.has(record.request) && TOKEN_FIELDS.every((field) => record.usage[field] === ping[field])
          );
          assert.ok(record, `SubagentStop tokens match no API response: ${JSON.stringify(ping)}`);
          matched.add(record.request);
          assert.equal(ping.api_requests, 1);
        }
        assert.equal(stop.prompt_id, undefined, "2.0 has no prompt ids");
      }

      const uninstall = await runProcess([...hook, "uninstall"], { env: { HOME: session.home, PATH: path } });
      assert.equal(uninstall.code, 0, uninstall.stderr);
      assert.equal(Deno.readTextFileSync(`${session.home}/.claude/settings.json`), original);
    } finally {
      await Promise.all([api.close(), receiver.close()]);
      await removeTree(session.home);
    }
  });
}

Deno.test("Claude Code 2.0.77 skips the whole settings file over StopFailure: the user's hook goes silent (why install checks)", async () => {
  const api = await startAnthropicStandIn();
  const receiver = await startReceiver();
  const session = newSession();
  try {
    userSettings(session.home);
    const path = pathWith(RELEASES[0], session.home);
    // Wired as for a newer Claude Code: what install did before it read the version.
    const install = await runProcess(
      [runtimeBinary("bun"), HOOK_PATH, "install", "--url", receiver.url, "--claude-version", "2.1.332"],
      { cwd: session.cwd, env: { HOME: session.home, PATH: path } },
    );
    assert.equal(install.code, 0, install.stderr);
    Deno.writeTextFileSync(session.settings, "{}");
    const run = await runClaude(session, {
      prompt: "please SCENARIO:plain SECRET_PROMPT do it",
      apiUrl: api.url,
      binary: RELEASES[0].command,
      path,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(recordedEvents(`${session.home}/mine`), [], "the user's own Stop hook did not run");
    // doctor names the cause.
    const doctor = await runProcess([runtimeBinary("bun"), HOOK_PATH, "doctor"], {
      env: { HOME: session.home, PATH: path },
    });
    assert.match(
      doctor.stdout,
      /PROBLEM {2}Claude Code 2\.0\.77 skips all of .*settings\.json .*"StopFailure", which Claude Code 2\.0\.77 does not know \(it arrived in 2\.1\.78\)/,
    );
  } finally {
    await Promise.all([api.close(), receiver.close()]);
    await removeTree(session.home);
  }
});

Deno.test("Claude Code 2.1.332 in -p mode: an API error still delivers StopFailure, through the settings install wrote", async () => {
  const api = await startAnthropicStandIn();
  const receiver = await startReceiver();
  const session = newSession();
  try {
    userSettings(session.home);
    const path = pathWith(RELEASES[1], session.home);
    const install = await runProcess([runtimeBinary("bun"), HOOK_PATH, "install", "--url", receiver.url], {
      cwd: session.cwd,
      env: { HOME: session.home, PATH: path },
    });
    assert.equal(install.code, 0, install.stderr);
    Deno.writeTextFileSync(session.settings, "{}");
    const run = await runClaude(session, {
      prompt: "please SCENARIO:stop-failure SECRET_PROMPT do it",
      apiUrl: api.url,
      binary: RELEASES[1].command,
      path,
    });
    assert.equal(run.code, 1, run.stderr);
    await receiver.waitFor(2, 20_000);
    const events = receiver.requests.map((request) => JSON.parse(request.body).event).sort();
    assert.deepEqual(events, ["SessionEnd", "StopFailure"]);
  } finally {
    await Promise.all([api.close(), receiver.close()]);
    await removeTree(session.home);
  }
});

/** One `api_request` event of Claude Code's OpenTelemetry log export: the model, its cost and the tokens it priced. */
interface ApiRequestCost {
  model: string;
  cost: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
}

/** Claude Code's OpenTelemetry log export, received: each `api_request` event's model, cost and tokens. */
function apiRequestCosts(bodies: readonly string[]): ApiRequestCost[] {
  const costs: ApiRequestCost[] = [];
  for (const body of bodies) {
    const parsed = JSON.parse(body) as {
      resourceLogs?: { scopeLogs?: { logRecords?: { body?: { stringValue?: string }; attributes?: unknown[] }[] }[] }[];
    };
    for (const resource of parsed.resourceLogs ?? []) {
      for (const scope of resource.scopeLogs ?? []) {
        for (const record of scope.logRecords ?? []) {
          const attributes = new Map(
            (record.attributes as { key: string; value: Record<string, unknown> }[] ?? [])
              .map(({ key, value }) => [key, Object.values(value)[0]]),
          );
          const name = String(attributes.get("event.name") ?? record.body?.stringValue ?? "");
          if (!name.endsWith("api_request")) continue;
          costs.push({
            model: String(attributes.get("model")),
            cost: Number(attributes.get("cost_usd")),
            input_tokens: Number(attributes.get("input_tokens")),
            output_tokens: Number(attributes.get("output_tokens")),
            cache_read_tokens: Number(attributes.get("cache_read_tokens")),
            cache_creation_tokens: Number(attributes.get("cache_creation_tokens")),
          });
        }
      }
    }
  }
  return costs;
}

Deno.test("Claude Code 2.0.77, [1m] Sonnet prompts over 200k tokens: the Stop ping's cost and report's equal 2.0.77's own (its OpenTelemetry cost)", async () => {
  const api = await startAnthropicStandIn();
  const receiver = await startReceiver();
  const telemetry = await startReceiver();
  const session = newSession();
  const release = RELEASES[0];
  try {
    const path = pathWith(release, session.home);
    const hook = [runtimeBinary("bun"), HOOK_PATH];
    const install = await runProcess([...hook, "install", "--url", receiver.url], {
      cwd: session.cwd,
      env: { HOME: session.home, PATH: path },
    });
    assert.equal(install.code, 0, install.stderr);
    Deno.writeTextFileSync(session.settings, "{}");
    const run = await runClaude(session, {
      prompt: "please SCENARIO:long-prompts SECRET_PROMPT do it",
      apiUrl: api.url,
      binary: release.command,
      path,
      model: "claude-sonnet-4-5[1m]",
      env: {
        CLAUDE_CODE_ENABLE_TELEMETRY: "1",
        OTEL_LOGS_EXPORTER: "otlp",
        OTEL_METRICS_EXPORTER: "otlp",
        OTEL_METRIC_EXPORT_INTERVAL: "500",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_ENDPOINT: telemetry.url.replace(/\/ping\/.*$/, ""),
        OTEL_LOGS_EXPORT_INTERVAL: "500",
      },
    });
    assert.equal(run.code, 0, run.stderr);
    const stopPing = () =>
      receiver.requests.map((request) => JSON.parse(request.body)).find((ping) => ping.event === "Stop");
    for (let waited = 0; stopPing() === undefined && waited < 20_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const stop = stopPing();
    assert.ok(stop, "a Stop ping");
    // 2.0.77's own cost of the turn's responses (Sonnet; its Haiku requests about Bash prefixes are in no transcript).
    const all = apiRequestCosts(telemetry.requests.map((request) => request.body));
    const costs = all.filter((entry) => entry.model === "claude-sonnet-4-5"); // the turn's, not the dated warmups'
    assert.equal(costs.length, 4, JSON.stringify(costs));
    const own = costs.reduce((total, entry) => total + entry.cost, 0);
    assert.ok(Math.abs(stop.cost_usd - own) <= 0.5e-6, `ours ${stop.cost_usd}, 2.0.77's ${own}`);
    // Today's rules give much less for the same responses: the test tells the two apart.
    const today = api.usage.filter((record) => record.scenario === "long-prompts").reduce((total, record) => {
      const u = record.usage as Record<string, number> & { cache_creation: Record<string, number> };
      return total + responseCostUsd("claude-sonnet-4-5", {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cache_read_input_tokens: u.cache_read_input_tokens,
        cache_creation_input_tokens: u.cache_creation_input_tokens,
        cache_1h: u.cache_creation.ephemeral_1h_input_tokens,
        web_search_requests: 0,
        version: "2.1.332",
      }, { overrides: {} })!;
    }, 0);
    assert.ok(own - today > 0.5, `2.0.77 charged ${own}; today's rules ${today}`);
    const report = await runProcess([...hook, "report", "--json", "--by", "model"], { env: { HOME: session.home } });
    const sonnet = JSON.parse(report.stdout).rows.find((row: { key: string }) => row.key === "claude-sonnet-4-5");
    // report counts every Sonnet response in the transcripts, the turn's and the warmup subagents'.
    const allSonnet = all.filter((entry) => entry.model.includes("sonnet")).reduce((total, e) => total + e.cost, 0);
    assert.ok(Math.abs(sonnet.cost_usd - allSonnet) <= 0.5e-6, `report ${sonnet.cost_usd}, 2.0.77's ${allSonnet}`);
  } finally {
    await Promise.all([api.close(), receiver.close(), telemetry.close()]);
    await removeTree(session.home);
  }
});

/** 1.0.128's prices per million tokens (and per web search), as its `cli.js` holds them. */
interface Prices1_0 {
  input: number;
  output: number;
  write: number;
  read: number;
}
const SONNET_1_0: Prices1_0 = { input: 3, output: 15, write: 3.75, read: 0.3 };
const OPUS_1_0: Prices1_0 = { input: 15, output: 75, write: 18.75, read: 1.5 };
const SONNET_LONG_1_0: Prices1_0 = { input: 6, output: 22.5, write: 7.5, read: 0.6 };
const PRICES_1_0_128: Readonly<Record<string, Prices1_0>> = {
  "claude-3-5-haiku": { input: 0.8, output: 4, write: 1, read: 0.08 },
  "claude-3-5-sonnet": SONNET_1_0,
  "claude-3-7-sonnet": SONNET_1_0,
  "claude-sonnet": SONNET_1_0,
  "claude-opus-4": OPUS_1_0,
  "claude-opus-4-1": OPUS_1_0,
};

/**
 * 1.0.128's cost of one response, transcribed from its `cli.js` (the rules of 1.0.108 to 2.0.15): a model is keyed by
 * `includes("claude-opus-4-1")`, `includes("claude-opus-4")`, else `/(claude-(\d+-\d+-)?\w+)/` (so
 * `claude-opus-4-5-20251101` is Opus 4, `claude-sonnet-4-5` is `claude-sonnet`, and `claude-haiku-4-5` is unknown:
 * Sonnet 4's row, without the long-prompt line); a 3/15 row whose input, cache reads and cache writes exceed 200,000
 * tokens is priced wholly at 6/22.5/7.5/0.6; every write at the 5-minute price; no US-inference factor; $0.01 a search.
 */
function cost1_0_128(model: string, usage: Record<string, unknown>): number {
  const key = model.includes("claude-opus-4-1")
    ? "claude-opus-4-1"
    : model.includes("claude-opus-4")
    ? "claude-opus-4"
    : model.match(/(claude-(\d+-\d+-)?\w+)/)?.[1] ?? model;
  const input = usage.input_tokens as number;
  const read = (usage.cache_read_input_tokens as number | undefined) ?? 0;
  const write = (usage.cache_creation_input_tokens as number | undefined) ?? 0;
  let price = PRICES_1_0_128[key];
  if (price === SONNET_1_0 && input + read + write > 200_000) price = SONNET_LONG_1_0;
  price ??= SONNET_1_0;
  const searches = (usage.server_tool_use as { web_search_requests?: number } | undefined)?.web_search_requests ?? 0;
  return input / 1e6 * price.input + (usage.output_tokens as number) / 1e6 * price.output + read / 1e6 * price.read +
    write / 1e6 * price.write + searches * 0.01;
}

/** One response's cost by today's rules (those of 2.1.332). */
function todayCost(model: string, usage: Record<string, unknown>): number {
  const u = usage as Record<string, number> & {
    cache_creation: Record<string, number>;
    server_tool_use?: { web_search_requests?: number };
    speed?: string;
    inference_geo?: string;
  };
  const cost = responseCostUsd(model, {
    input_tokens: u.input_tokens,
    output_tokens: u.output_tokens,
    cache_read_input_tokens: u.cache_read_input_tokens,
    cache_creation_input_tokens: u.cache_creation_input_tokens,
    cache_1h: u.cache_creation.ephemeral_1h_input_tokens,
    web_search_requests: u.server_tool_use?.web_search_requests ?? 0,
    ...(u.speed === undefined ? {} : { speed: u.speed }),
    ...(u.inference_geo === undefined ? {} : { inference_geo: u.inference_geo }),
    version: "2.1.332",
  }, { overrides: {} });
  assert.ok(cost !== undefined, `today's rules price ${model}`);
  return cost;
}

Deno.test("Claude Code 1.0.128 (its Opus 4 prices for Opus 4.5, Sonnet's for an unknown Haiku 4.5, Sonnet over 200k): the Stop pings' cost and report's equal 1.0.128's own (its OpenTelemetry cost)", async () => {
  const api = await startAnthropicStandIn();
  const receiver = await startReceiver();
  const telemetry = await startReceiver();
  const session = newSession();
  const release = RELEASE_1_0_128;
  // One session each: a model 1.0.128 keys as another, a model it does not know, and Sonnet over its 200k line.
  const turns = [
    { model: "claude-opus-4-5-20251101", scenario: "priced" }, // Opus 4's 15/75/18.75/1.5 there, 5/25 today
    { model: "claude-haiku-4-5", scenario: "priced" }, // unknown there: Sonnet 4's 3/15; 1/5 today
    { model: "claude-sonnet-4-5[1m]", scenario: "long-prompts" }, // 6/22.5/7.5/0.6 for the whole request there
  ];
  try {
    // The user's own hooks record what 1.0.128 hands a hook: the Stop and SessionEnd input, with its transcript_path.
    Deno.mkdirSync(`${session.home}/mine`, { recursive: true });
    const recorder = [{ hooks: [{ type: "command", command: recorderCommand(`${session.home}/mine`) }] }];
    Deno.mkdirSync(`${session.home}/.claude`, { recursive: true });
    Deno.writeTextFileSync(
      `${session.home}/.claude/settings.json`,
      JSON.stringify({ hooks: { Stop: recorder, SessionEnd: recorder } }, null, 2) + "\n",
    );
    const path = pathWith(release, session.home);
    const hook = [runtimeBinary("bun"), HOOK_PATH];
    const install = await runProcess([...hook, "install", "--url", receiver.url], {
      cwd: session.cwd,
      env: { HOME: session.home, PATH: path },
    });
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /Claude Code: 1\.0\.128 /);
    const wired = Object.keys(JSON.parse(Deno.readTextFileSync(`${session.home}/.claude/settings.json`)).hooks);
    assert.deepEqual(wired.sort(), ["SessionEnd", "Stop", "SubagentStop"], `wired: ${wired}`);
    Deno.writeTextFileSync(session.settings, "{}"); // every hook comes from ~/.claude/settings.json
    // 1.0.128 checks its auto-compact line against its default model's 200k window, not the `--model` of a `-p` run:
    // after a 227k-token response it would compact (a Sonnet 4 request) before each next one. Off, as a user can.
    Deno.writeTextFileSync(`${session.home}/.claude.json`, JSON.stringify({ autoCompactEnabled: false }));

    const pings = () => receiver.requests.map((request) => JSON.parse(request.body));
    const measured: { turn: string; key: string; ping: number; own: number; today: number }[] = [];
    for (const [index, turn] of turns.entries()) {
      const run = await runClaude(session, {
        prompt: `please SCENARIO:${turn.scenario} SECRET_PROMPT do it`,
        apiUrl: api.url,
        binary: release.command,
        path,
        model: turn.model,
        env: {
          CLAUDE_CODE_ENABLE_TELEMETRY: "1",
          OTEL_LOGS_EXPORTER: "otlp",
          OTEL_METRICS_EXPORTER: "otlp",
          OTEL_METRIC_EXPORT_INTERVAL: "500",
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_EXPORTER_OTLP_ENDPOINT: telemetry.url.replace(/\/ping\/.*$/, ""),
          OTEL_LOGS_EXPORT_INTERVAL: "500",
        },
      });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(run.sessionId, run.stdout);
      const ofRun = () => pings().filter((ping) => ping.session_id === run.sessionId);
      for (let waited = 0; ofRun().length < 2 && waited < 20_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(ofRun().map((ping) => ping.event).sort(), ["SessionEnd", "Stop"], `run ${index}`);
      const stop = ofRun().find((ping) => ping.event === "Stop");

      // The turn's responses, as the stand-in returned them: the tokens of the Stop ping.
      const model = turn.model.replace("[1m]", "");
      const responses = api.usage.filter((record) => record.scenario === turn.scenario && record.model === model);
      assert.equal(responses.length, 4, JSON.stringify(api.usage.map((record) => [record.scenario, record.model])));
      for (const field of TOKEN_FIELDS) assert.equal(stop[field], sum(responses, field), `Stop ${field}`);
      assert.equal(stop.api_requests, responses.length);

      // 1.0.128's own cost of them: its OpenTelemetry api_request events for the turn's model (its own Haiku 3.5
      // requests, e.g. about a Bash command's prefix, are in no transcript).
      const costs = apiRequestCosts(telemetry.requests.map((request) => request.body))
        .filter((entry) => entry.model === model);
      assert.equal(costs.length, responses.length, JSON.stringify(costs));
      // Its events are the stand-in's responses (the tokens; an event does not name its web searches), and the rule
      // transcribed above is 1.0.128's, as it ran.
      const tokensOf = (entry: ApiRequestCost) =>
        [entry.input_tokens, entry.output_tokens, entry.cache_read_tokens, entry.cache_creation_tokens].join();
      assert.deepEqual(
        costs.map(tokensOf).sort(),
        responses.map(({ usage }) =>
          [usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens]
            .join()
        ).sort(),
      );
      const byRule = responses.map((record) => cost1_0_128(model, record.usage)).sort((a, b) => a - b);
      costs.map((entry) => entry.cost).sort((a, b) => a - b).forEach((cost, at) =>
        assert.ok(Math.abs(cost - byRule[at]) <= 1e-9, `${model}: ${cost}, by the rule ${byRule[at]}`)
      );
      const own = costs.reduce((total, entry) => total + entry.cost, 0);
      const today = responses.reduce((total, record) => total + todayCost(model, record.usage), 0);
      measured.push({ turn: `${turn.model} ${turn.scenario}`, key: stop.model, ping: stop.cost_usd, own, today });
      // Today's rules differ by far for the same responses: the test tells the two apart.
      assert.ok(Math.abs(own - today) > 0.1, JSON.stringify(measured.at(-1)));
    }

    // What 1.0.128 hands a hook: Stop and SessionEnd, each with the transcript (the file the pings' tokens come from).
    const recorded = recordedEvents(`${session.home}/mine`);
    assert.deepEqual(
      recorded.map((event) => event.hook_event_name),
      turns.flatMap(() => ["Stop", "SessionEnd"]),
    );
    for (const event of recorded) {
      assert.ok(typeof event.transcript_path === "string" && Deno.statSync(event.transcript_path).isFile);
    }

    // report counts every response in the transcripts, one model each session: the same responses, so 1.0.128's cost.
    const report = await runProcess([...hook, "report", "--json", "--by", "model"], { env: { HOME: session.home } });
    assert.equal(report.code, 0, report.stderr);
    const rows = (JSON.parse(report.stdout).rows as { key: string; cost_usd: number }[])
      .map(({ key, cost_usd }) => ({ key, cost_usd }));
    // Every number first, then the comparisons with 1.0.128's own.
    console.log(`${JSON.stringify(measured, null, 2)}\nreport by model: ${JSON.stringify(rows)}`);
    for (const entry of measured) assert.ok(Math.abs(entry.ping - entry.own) <= 0.5e-6, JSON.stringify(entry));
    assert.deepEqual(rows.map((row) => row.key).sort(), measured.map((entry) => entry.key).sort());
    for (const entry of measured) {
      const row = rows.find((row) => row.key === entry.key)!;
      assert.ok(Math.abs(row.cost_usd - entry.own) <= 0.5e-6, `report ${JSON.stringify(row)}, 1.0.128's ${entry.own}`);
    }
    // 1.0.128 writes no promptId: each session's one turn is counted by its prompt line.
    const bySession = await runProcess([...hook, "report", "--json", "--by", "session"], {
      env: { HOME: session.home },
    });
    const sessions = JSON.parse(bySession.stdout).rows as { turns: number }[];
    assert.deepEqual(sessions.map((row) => row.turns), turns.map(() => 1));
  } finally {
    await Promise.all([api.close(), receiver.close(), telemetry.close()]);
    await removeTree(session.home);
  }
});
