// `report`, as a person runs it: a real hook process over a real Claude Code
// folder (recorded sessions of 2.1.197 and 2.1.332), its numbers held to the
// API's own usage, each response counted once however many transcripts repeat
// it, and hostile transcripts (broken lines, escape codes, symlinks, FIFOs)
// skipped, counted, never followed and never printed raw.
import assert from "node:assert/strict";
import {
  copyDirectory,
  FIXTURES,
  HOOK_PATH,
  NEWEST_FIXTURES,
  removeTree,
  runProcess,
  runtimeBinary,
  SCENARIOS,
} from "./_helpers.ts";

interface Row {
  key: string;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  total_tokens: number;
  cost_usd: number;
  api_requests: number;
  turns: number;
}

const TOKEN_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
] as const;

/** A HOME holding every recorded session of both versions. */
function homeWithAllSessions(): string {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-report-home-" });
  for (const fixtures of [FIXTURES, NEWEST_FIXTURES]) {
    for (const scenario of SCENARIOS) copyDirectory(`${fixtures}/${scenario}/home`, home);
  }
  return home;
}

/** What the API answered in every recorded session (its own usage), by response id. */
function truth(): Map<string, Record<string, number>> {
  const responses = new Map<string, Record<string, number>>();
  for (const fixtures of [FIXTURES, NEWEST_FIXTURES]) {
    for (const scenario of SCENARIOS) {
      for (const line of Deno.readTextFileSync(`${fixtures}/${scenario}/api-usage.jsonl`).trim().split("\n")) {
        const record = JSON.parse(line);
        responses.set(`${fixtures}:${record.message_id}`, record.usage);
      }
    }
  }
  return responses;
}

async function report(home: string, args: string[], runtime: "deno" | "bun" = "deno") {
  const argv = runtime === "deno"
    ? [runtimeBinary("deno"), "run", "--no-config", "-A", HOOK_PATH, "report", ...args]
    : [runtimeBinary("bun"), HOOK_PATH, "report", ...args];
  return await runProcess(argv, { env: { HOME: home, TZ: "UTC" } });
}

Deno.test("report counts every token the API sent in every recorded session, once, under Deno and Bun", async () => {
  const home = homeWithAllSessions();
  try {
    const sent = [...truth().values()];
    const expected = Object.fromEntries(
      TOKEN_FIELDS.map((field) => [field, sent.reduce((sum, usage) => sum + (usage[field] ?? 0), 0)]),
    );
    // A StopFailure's API error is no response (Claude Code writes it as <synthetic>): the API counted nothing either.
    const answered = sent.filter((usage) => TOKEN_FIELDS.some((field) => usage[field] > 0)).length;
    for (const runtime of ["deno", "bun"] as const) {
      const run = await report(home, ["--json"], runtime);
      assert.equal(run.code, 0, run.stderr);
      const { total, files, skipped_lines: skipped } = JSON.parse(run.stdout);
      for (const field of TOKEN_FIELDS) assert.equal(total[field], expected[field], `${runtime}: ${field}`);
      assert.equal(total.api_requests, answered, runtime);
      assert.ok(files >= 10 && skipped === 0, `${runtime}: ${files} files, ${skipped} skipped`);
      assert.ok(!run.stdout.includes(home), "no path is printed");
    }
  } finally {
    await removeTree(home);
  }
});

Deno.test("report counts a resumed or forked session's repeated lines once, and its cost is the exact sum", async () => {
  const home = homeWithAllSessions();
  try {
    const before = JSON.parse((await report(home, ["--json", "--by", "session"])).stdout);
    // A fork: Claude Code copies a session's lines into a new transcript and goes on there.
    const projects = `${home}/.claude/projects`;
    const folder = [...Deno.readDirSync(projects)][0].name;
    const original = [...Deno.readDirSync(`${projects}/${folder}`)].find((entry) => entry.name.endsWith(".jsonl"))!;
    Deno.copyFileSync(`${projects}/${folder}/${original.name}`, `${projects}/${folder}/forked-copy.jsonl`);
    const after = JSON.parse((await report(home, ["--json", "--by", "session"])).stdout);
    assert.deepEqual(after.total, before.total);
    assert.ok(after.repeated_requests > before.repeated_requests, "the copy's responses were found, and counted once");
    const future = JSON.parse((await report(home, ["--json", "--since", "2100-01-01"])).stdout);
    assert.equal(future.repeated_requests, 0, "repeats outside --since are not counted either");
    const sum = (rows: Row[]) => rows.reduce((total, row) => total + row.cost_usd, 0);
    assert.ok(Math.abs(sum(after.rows) - after.total.cost_usd) < 1e-6 * after.rows.length, "rows add up");
  } finally {
    await removeTree(home);
  }
});

Deno.test("report --since, --until and --project narrow it; a bad option is one clear line and exit 2", async () => {
  const home = homeWithAllSessions();
  try {
    const all = JSON.parse((await report(home, ["--json", "--by", "day"])).stdout);
    assert.ok(all.rows.length >= 1);
    const first = all.rows[0].key;
    const one = JSON.parse((await report(home, ["--json", "--since", first, "--until", first])).stdout);
    assert.deepEqual(one.rows.map((row: Row) => row.key), [first]);
    const none = JSON.parse((await report(home, ["--json", "--project", "no-such-project"])).stdout);
    assert.equal(none.total.api_requests, 0);
    const byProject = JSON.parse((await report(home, ["--json", "--by", "project"])).stdout);
    assert.ok(byProject.rows.every((row: Row) => !row.key.includes("/")), "only folder names");
    for (
      const [args, message] of [
        [["--by", "year"], /--by "year" is not one of day, week, month, session, project, model/],
        [["--since", "yesterday"], /--since "yesterday" is not a date like 2026-12-01/],
        [["--until", "2026-02-30"], /--until "2026-02-30" is not a date like 2026-12-01/],
        [["--since", "2026-13-45"], /--since "2026-13-45" is not a date like 2026-12-01/],
        [["--since", "2026-12-02", "--until", "2026-12-01"], /--since 2026-12-02 is after --until 2026-12-01/],
      ] as const
    ) {
      const run = await report(home, [...args]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split("\n").length, 1);
    }
  } finally {
    await removeTree(home);
  }
});

Deno.test("report skips broken, half-written and hostile lines, never follows a symlink or reads a FIFO, and says so", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-report-hostile-" });
  const outside = Deno.makeTempDirSync({ prefix: "telemhq-report-outside-" });
  try {
    const dir = `${home}/.claude/projects/-work-api`;
    Deno.mkdirSync(dir, { recursive: true });
    const line = (id: string, model: string, usage: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        type: "assistant",
        timestamp: "2026-11-30T10:00:00.000Z",
        sessionId: "5e55e55e-0000-4000-8000-000000000001",
        cwd: "/home/dev/api",
        requestId: `req_${id}`,
        version: "2.1.332",
        message: { id: `msg_${id}`, model, usage },
        ...extra,
      });
    Deno.writeTextFileSync(
      `${dir}/hostile.jsonl`,
      [
        line("good", "claude-sonnet-4-5", { input_tokens: 1000, output_tokens: 100 }),
        '{"type":"assistant","usage": broken',
        line("escape", "\u001b[31mclaude\u0007", { input_tokens: 5, output_tokens: 5 }),
        line("negative", "claude-sonnet-4-5", { input_tokens: -50, output_tokens: 1e300 }),
        line("version", "claude-sonnet-4-5", { input_tokens: 10, output_tokens: 0 }, { version: "\u001b]0;x\u0007" }),
        // A model named like an object's own property, and an advisor step with an absurd count: no NaN, no Infinity.
        line("proto", "constructor", { input_tokens: 0, output_tokens: 0 }),
        line("advisor", "claude-sonnet-4-5", {
          input_tokens: 0,
          output_tokens: 0,
          iterations: [{ type: "advisor_message", model: "claude-opus-4-1", input_tokens: 1e308 }],
        }),
        // A project folder whose name holds a newline and a forged table row.
        line("forged", "claude-sonnet-4-5", { input_tokens: 0, output_tokens: 0 }, {
          cwd: "/home/dev/acme\ntotal  999,999  999.99",
        }),
        '{"type":"assistant","timestamp":"2026-11-30T10:00:00.000Z","message":{"id":"msg_half","usage":{"input_tok',
      ].join("\n"),
    );
    // A transcript elsewhere, reached through a symlink: never read. A FIFO: never opened (it would block).
    Deno.writeTextFileSync(
      `${outside}/secret.jsonl`,
      line("outside", "claude-sonnet-4-5", { input_tokens: 999999, output_tokens: 0 }) + "\n",
    );
    Deno.symlinkSync(`${outside}/secret.jsonl`, `${dir}/linked.jsonl`);
    Deno.symlinkSync(outside, `${home}/.claude/projects/-linked-folder`);
    await new Deno.Command("mkfifo", { args: [`${dir}/pipe.jsonl`] }).output();
    const run = await report(home, ["--by", "model"]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes("\u001b") && !run.stderr.includes("\u001b"), "no escape code reaches the terminal");
    assert.match(run.stderr, /2 broken line\(s\) skipped/);
    const byProject = await report(home, ["--by", "project"]);
    assert.equal(byProject.stdout.trim().split("\n").length, 4, `header, two projects, total: ${byProject.stdout}`);
    const json = JSON.parse((await report(home, ["--json", "--by", "model"])).stdout);
    // Bun searches the bytes, Deno the decoded text: the same report.
    assert.deepEqual(JSON.parse((await report(home, ["--json", "--by", "model"], "bun")).stdout), json);
    assert.equal(json.total.input_tokens, 1000 + 5 + 0 + 10, "a negative count is 0; nothing from the symlinks");
    assert.equal(json.total.output_tokens, 100 + 5 + 0, "an impossible count is 0");
    assert.equal(json.files, 1);
    assert.ok(Number.isFinite(json.total.cost_usd), `a finite cost: ${json.total.cost_usd}`);
    assert.deepEqual(
      json.unpriced_models,
      ["constructor", "unknown"],
      "escape codes make no model; constructor no price",
    );
    assert.deepEqual(json.unchecked_versions, [], "a version full of escape codes is no version, and never named");
    const unknown = json.rows.find((row: Row) => row.key === "unknown");
    assert.equal(unknown.cost_usd, null, "a model with no price costs nothing known, never 0");
  } finally {
    await removeTree(home);
    await removeTree(outside);
  }
});

Deno.test("report counts the turns of transcripts written before promptId by their prompts alone, and a hostile user line costs only itself", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-report-old-" });
  try {
    const dir = `${home}/.claude/projects/-home-dev-api`;
    Deno.mkdirSync(dir, { recursive: true });
    let n = 0;
    // In the order 1.0.128 writes a line's fields.
    const user = (content: unknown, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        parentUuid: null,
        isSidechain: false,
        userType: "external",
        cwd: "/home/dev/api",
        sessionId: "5e55e55e-0000-4000-8000-000000000021",
        version: "1.0.128",
        gitBranch: "",
        ...extra,
        type: "user",
        message: { role: "user", content },
        uuid: `u${++n}`,
        timestamp: "2025-09-30T10:00:00.000Z",
      });
    const assistant = (id: string) =>
      JSON.stringify({
        type: "assistant",
        timestamp: "2025-09-30T10:00:01.000Z",
        sessionId: "5e55e55e-0000-4000-8000-000000000021",
        cwd: "/home/dev/api",
        version: "1.0.128",
        requestId: `req_${id}`,
        message: {
          id: `msg_${id}`,
          model: "claude-sonnet-4-20250514",
          usage: { input_tokens: 1000, output_tokens: 0 },
        },
      });
    Deno.writeTextFileSync(
      `${dir}/5e55e55e-0000-4000-8000-000000000021.jsonl`,
      [
        user("fix the bug"), // turn 1
        assistant("a"),
        user([{ type: "tool_result", tool_use_id: "t1", content: "ok" }]),
        user("explore the code", { isSidechain: true }), // a subagent's prompt, in the session's file (1.0)
        user([{ type: "text", text: "[Request interrupted by user]" }]),
        user("<command-name>/cost</command-name>"),
        user("<local-command-stdout>Total cost: $0.01</local-command-stdout>"),
        user("<bash-input>ls</bash-input>"),
        user("This session is being continued from a previous conversation", { isCompactSummary: true }),
        user([null]), // hostile: no prompt, and no reason to lose the file
        user([{ type: "text", text: "now the tests" }, { type: "image", source: {} }]), // turn 2
        assistant("b"),
      ].join("\n") + "\n",
    );
    for (const runtime of ["deno", "bun"] as const) {
      const run = await report(home, ["--json", "--by", "session"], runtime);
      assert.equal(run.code, 0, run.stderr);
      const json = JSON.parse(run.stdout);
      assert.equal(json.total.turns, 2, `${runtime}: ${JSON.stringify(json.total)}`);
      assert.equal(json.total.api_requests, 2, "every response counted, the hostile line notwithstanding");
      assert.equal(json.total.cost_usd, 0.006);
      assert.equal(json.earlier_rules_requests, 2, "1.0.128's rules, not today's");
    }
    const table = await report(home, []);
    assert.match(table.stderr, /2 response\(s\) priced by the rules of the earlier Claude Code that wrote them/);
    // By model, turns belong to no row: null in JSON, never a 0 a script would believe.
    const byModel = JSON.parse((await report(home, ["--json", "--by", "model"])).stdout);
    assert.equal(byModel.total.turns, null);
    assert.equal(byModel.rows[0].lines_added, null);
  } finally {
    await removeTree(home);
  }
});
