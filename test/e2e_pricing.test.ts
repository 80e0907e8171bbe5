// Cost and lines changed, end to end with the real Claude Code 2.1.332: for
// every model of its catalog, a session whose responses carry every price
// dimension it applies; our pings' cost_usd must add up to the cost Claude
// Code records itself (its transcript's cost-state line), and a session that
// writes and edits a file must report the lines Claude Code counts.
import assert from "node:assert/strict";
import { startAnthropicStandIn } from "../scripts/_anthropic_standin.ts";
import { newSession, runClaude, writeSettings } from "../scripts/_claude.ts";
import { CATALOG_MODELS } from "../mod.ts";
import { HOOK_PATH, launcherLine, removeTree, ROOT, runProcess, runtimeBinary, startReceiver } from "./_helpers.ts";

const USAGE_EVENTS = ["Stop", "StopFailure", "SubagentStop", "SessionEnd"];

interface Outcome {
  /** Claude Code's own totals, from its transcript's last cost-state line. */
  costState: { totalCostUSD: number; totalLinesAdded: number; totalLinesRemoved: number };
  /** Our pings, parsed. */
  pings: Record<string, number & string>[];
  /** `report --json --by session` over the session's HOME afterwards: what it says the session cost. */
  reported: { cost_usd: number; lines_added: number; lines_removed: number; turns: number };
  /** What ccusage 20.0.24 (pinned in tools/) says the session cost, for the comparison in the docs. */
  ccusage: number;
}

/** ccusage's total cost for a HOME's sessions (`ccusage claude session --json --offline`). */
async function ccusageOn(home: string): Promise<number> {
  const run = await runProcess([
    `${ROOT}tools/ccusage/node_modules/.bin/ccusage`,
    "claude",
    "session",
    "--json",
    "--offline",
  ], {
    env: { HOME: home },
  });
  assert.equal(run.code, 0, run.stderr);
  const sessions = JSON.parse(run.stdout).sessions as { totalCost: number }[];
  return sessions.reduce((total, session) => total + session.totalCost, 0);
}

/** `report` run on a finished session's HOME, as a user would run it. */
async function reportOn(home: string): Promise<Outcome["reported"]> {
  const run = await runProcess([runtimeBinary("bun"), HOOK_PATH, "report", "--json", "--by", "session"], {
    env: { HOME: home },
  });
  assert.equal(run.code, 0, run.stderr);
  const rows = JSON.parse(run.stdout).rows;
  assert.equal(rows.length, 1, "one session");
  return rows[0];
}

function lastCostState(home: string): Outcome["costState"] {
  const projects = `${home}/.claude/projects`;
  for (const dir of Deno.readDirSync(projects)) {
    for (const file of Deno.readDirSync(`${projects}/${dir.name}`)) {
      if (!file.name.endsWith(".jsonl")) continue;
      const states = Deno.readTextFileSync(`${projects}/${dir.name}/${file.name}`).split("\n")
        .filter((line) => line.includes('"cost-state"')).map((line) => JSON.parse(line));
      if (states.length > 0) return states.at(-1);
    }
  }
  throw new Error("Claude Code wrote no cost-state line");
}

/** One `claude -p` session on a model, its hooks running our hook through the fast path under Bun. */
async function session(model: string, scenario: string, allowedTools?: string): Promise<Outcome> {
  const s = newSession();
  const api = await startAnthropicStandIn(`p${crypto.randomUUID().slice(0, 8)}`, `${s.cwd}/notes.txt`);
  const receiver = await startReceiver();
  try {
    writeSettings(s.settings, [launcherLine("bun")], USAGE_EVENTS);
    const run = await runClaude(s, {
      prompt: `SCENARIO:${scenario} please`,
      apiUrl: api.url,
      model,
      allowedTools,
      env: { TELEMHQ_PING_URL: receiver.url, TELEMHQ_STATE_DIR: s.stateDir },
    });
    assert.equal(run.code, 0, `${model}: ${run.stderr}`);
    await receiver.waitFor(2, 15_000); // Stop and SessionEnd
    return {
      costState: lastCostState(s.home),
      pings: receiver.requests.map((request) => JSON.parse(request.body)),
      reported: await reportOn(s.home),
      ccusage: await ccusageOn(s.home),
    };
  } finally {
    await Promise.all([api.close(), receiver.close()]);
    await removeTree(s.home);
  }
}

/** Runs `task` on every item, `width` at a time (the machine has 2 cores). */
async function inBatches<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let index = 0; index < items.length; index += width) {
    results.push(...await Promise.all(items.slice(index, index + width).map(task)));
  }
  return results;
}

Deno.test("every catalog model, every price dimension: the pings' cost_usd equals Claude Code's own cost", async () => {
  // Each model as Claude Code is asked for it, and two other spellings of the same models.
  const models = [...CATALOG_MODELS.map((model) => model.id), "claude-sonnet-4-5-20250929", "claude-opus-4-6[1m]"];
  const outcomes = await inBatches(models, 3, (model) => session(model, "priced"));
  const differences: string[] = [];
  let largest = 0;
  for (const [index, outcome] of outcomes.entries()) {
    const turns = outcome.pings.filter((ping) => ping.event === "Stop" || ping.event === "StopFailure");
    assert.equal(turns.length, 1, `${models[index]}: one turn`);
    assert.ok(typeof turns[0].cost_usd === "number", `${models[index]}: the Stop ping has a cost`);
    const difference = Math.abs(turns[0].cost_usd - outcome.costState.totalCostUSD);
    largest = Math.max(largest, difference);
    // Ours is rounded to the micro-dollar; Claude Code's is the raw sum.
    if (difference > 0.5e-6) {
      differences.push(`${models[index]}: ours ${turns[0].cost_usd}, Claude Code's ${outcome.costState.totalCostUSD}`);
    }
    // report, over every transcript of the session afterwards, says the same within a micro-dollar.
    if (Math.abs(outcome.reported.cost_usd - outcome.costState.totalCostUSD) > 0.5e-6) {
      differences.push(
        `${models[index]}: report ${outcome.reported.cost_usd}, Claude Code's ${outcome.costState.totalCostUSD}`,
      );
    }
    assert.equal(turns[0].speed, "fast", `${models[index]}: a fast response is reported`);
    assert.equal(turns[0].web_search_requests, 8, `${models[index]}: web searches`);
    const end = outcome.pings.find((ping) => ping.event === "SessionEnd")!;
    assert.equal(end.session_cost_usd, turns[0].cost_usd, `${models[index]}: the session total`);
  }
  assert.deepEqual(differences, []);
  console.log(`${models.length} sessions; largest difference from Claude Code's cost: ${largest.toExponential(2)} USD`);
  // The side-by-side table in docs/tokens-and-cost.md: Claude Code's own cost, report's, ccusage's.
  console.log("| model | Claude Code | report | ccusage 20.0.24 | ccusage off by |");
  for (const [index, outcome] of outcomes.entries()) {
    const own = outcome.costState.totalCostUSD;
    console.log(
      `| ${models[index]} | ${own.toFixed(6)} | ${outcome.reported.cost_usd.toFixed(6)} | ` +
        `${outcome.ccusage.toFixed(6)} | ${((outcome.ccusage - own) / own * 100).toFixed(0)}% |`,
    );
  }
});

Deno.test("a turn that writes and edits a file reports the lines Claude Code counts", async () => {
  const outcome = await session("claude-sonnet-4-6", "edits", "Bash Read Write Edit");
  const stop = outcome.pings.find((ping) => ping.event === "Stop")!;
  assert.deepEqual(
    { added: stop.lines_added, removed: stop.lines_removed },
    { added: outcome.costState.totalLinesAdded, removed: outcome.costState.totalLinesRemoved },
  );
  assert.deepEqual({ added: stop.lines_added, removed: stop.lines_removed }, { added: 5, removed: 1 });
  assert.deepEqual(
    { added: outcome.reported.lines_added, removed: outcome.reported.lines_removed, turns: outcome.reported.turns },
    { added: 5, removed: 1, turns: 1 },
    "report counts the same lines",
  );
  const end = outcome.pings.find((ping) => ping.event === "SessionEnd")!;
  assert.equal(end.session_lines_added, stop.lines_added);
  assert.ok(outcome.pings.every((ping) => !JSON.stringify(ping).includes("SECRET_")));
});
