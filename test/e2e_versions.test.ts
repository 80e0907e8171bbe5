// End to end with two real Claude Code releases: 2.0.77 (the 2.0 line fleets still pin; it skips a whole
// settings file over one hook event it does not know) and the pinned 2.1.332. Each runs in a clean HOME whose
// settings file already holds the user's own Stop hook: install must keep that hook firing and deliver the
// pings that version can fire, with the tokens the API returned.
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

const RELEASES: readonly ClaudeCodeRelease[] = [
  { version: "2.0.77", executable: CLI_2_0_77, command: [NODE, CLI_2_0_77] },
  { version: "2.1.332", executable: pinnedClaudeBinary(), command: [pinnedClaudeBinary()] },
];

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

/** Claude Code's OpenTelemetry log export, received: each `api_request` event's model and cost. */
function apiRequestCosts(bodies: readonly string[]): { model: string; cost: number }[] {
  const costs: { model: string; cost: number }[] = [];
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
          costs.push({ model: String(attributes.get("model")), cost: Number(attributes.get("cost_usd")) });
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
