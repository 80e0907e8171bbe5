// End to end with the real Claude Code's own plugin commands: this repository is a marketplace, its plugin
// is installed with the ping URL as a sensitive option, and turns of `claude -p` deliver their pings through
// the plugin's hooks, with Bun, Deno or Node 24 as the only runtime on PATH.
import assert from "node:assert/strict";
import { startAnthropicStandIn } from "../scripts/_anthropic_standin.ts";
import { type ClaudeSession, newSession, runClaude } from "../scripts/_claude.ts";
import {
  HOOK_PATH,
  listState,
  pinnedClaudeBinary,
  type Receiver,
  removeTree,
  ROOT,
  runProcess,
  runtimeBinary,
  startReceiver,
  waitUntil,
} from "./_helpers.ts";

const CLAUDE = pinnedClaudeBinary();
const NODE_24 = `${ROOT}tools/node_modules/node-24/bin/node`;
/** What the hook command and Claude Code's teardown need besides a runtime. */
const BASE_TOOLS = ["dirname", "cat", "setsid", "ps", "env", "realpath"];

/** A PATH of one folder: the base tools and the given runtimes, as `name -> file`. */
function pathWith(home: string, runtimes: Record<string, string>): string {
  const bin = `${home}/bin`;
  Deno.mkdirSync(bin, { recursive: true });
  for (const tool of BASE_TOOLS) {
    const found = ["/usr/bin", "/bin"].map((dir) => `${dir}/${tool}`).find((path) => exists(path));
    if (found !== undefined) Deno.symlinkSync(found, `${bin}/${tool}`);
  }
  for (const [name, file] of Object.entries(runtimes)) Deno.symlinkSync(file, `${bin}/${name}`);
  return bin;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function claudeCli(session: ClaudeSession, path: string, args: string[]) {
  return await runProcess([CLAUDE, ...args], {
    cwd: session.cwd,
    env: {
      HOME: session.home,
      PATH: path,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
    },
    timeoutMs: 60_000,
  });
}

/** Adds this repository as a marketplace and installs the plugin with the receiver's URL. */
async function installPlugin(session: ClaudeSession, path: string, receiver: Receiver, toolActivity = true) {
  const add = await claudeCli(session, path, ["plugin", "marketplace", "add", ROOT]);
  assert.equal(add.code, 0, add.stdout + add.stderr);
  const install = await claudeCli(session, path, [
    "plugin",
    "install",
    "telemhq@telemhq",
    "--config",
    `ping_url=${receiver.url}`,
    "--config",
    `tool_activity=${toolActivity}`,
  ]);
  assert.equal(install.code, 0, install.stdout + install.stderr);
  assert.doesNotMatch(install.stdout + install.stderr, /not applied|required/);
}

/** Every file under a folder, but Claude Code's credential store, that holds a string. */
function filesHolding(dir: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (folder: string) => {
    for (const entry of Deno.readDirSync(folder)) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.isFile && entry.name !== ".credentials.json") {
        if (Deno.readFileSync(path).length < 50_000_000 && Deno.readTextFileSync(path).includes(needle)) {
          found.push(path);
        }
      }
    }
  };
  walk(dir);
  return found;
}

Deno.test("claude plugin validate --strict passes on this repository (marketplace and plugin)", async () => {
  const session = newSession();
  try {
    for (const args of [["--strict", ROOT], ["--strict", "--profile", "directory", ROOT]]) {
      const run = await claudeCli(session, "/usr/bin:/bin", ["plugin", "validate", ...args]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /Validation passed/);
    }
  } finally {
    await removeTree(session.home);
  }
});

Deno.test("the plugin's version is deno.json's", () => {
  const plugin = JSON.parse(Deno.readTextFileSync(`${ROOT}.claude-plugin/plugin.json`));
  const deno = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  assert.equal(plugin.version, deno.version);
});

const ONLY: readonly [string, Record<string, string>][] = [
  ["Bun", { bun: runtimeBinary("bun") }],
  ["Deno", { deno: runtimeBinary("deno") }],
  ["Node 24", { node: NODE_24 }],
  // The machine's Node 20, which cannot strip types: it runs hook.mjs, the same code as plain JavaScript.
  ["Node 20", { node: "/usr/bin/node" }],
];

for (const [label, runtimes] of ONLY) {
  Deno.test(`plugin with only ${label} on PATH: Stop with tokens, tool activity, StopFailure, SessionEnd; the token stays in Claude Code's store`, async () => {
    const api = await startAnthropicStandIn();
    const receiver = await startReceiver();
    const session = newSession();
    try {
      const path = pathWith(session.home, runtimes);
      await installPlugin(session, path, receiver);
      Deno.writeTextFileSync(session.settings, "{}");
      const turn = await runClaude(session, {
        prompt: "please SCENARIO:tools SECRET_PROMPT do it",
        apiUrl: api.url,
        path,
      });
      assert.equal(turn.code, 0, turn.stderr);
      await receiver.waitFor(4, 20_000);
      const failing = await runClaude(session, {
        prompt: "please SCENARIO:stop-failure SECRET_PROMPT do it",
        apiUrl: api.url,
        path,
      });
      assert.equal(failing.code, 1, failing.stderr);
      await receiver.waitFor(6, 20_000);
      const pings = receiver.requests.map((request) => JSON.parse(request.body));
      assert.deepEqual(
        pings.map((ping) => ping.event).sort(),
        ["PostToolUse", "PostToolUseFailure", "SessionEnd", "SessionEnd", "Stop", "StopFailure"],
      );
      const stop = pings.find((ping) => ping.event === "Stop");
      assert.ok(stop.total_tokens > 0 && stop.cost_usd > 0, JSON.stringify(stop));
      const expected = label.startsWith("Node ")
        ? new RegExp(`^node/${label.slice("Node ".length)}\\.`)
        : new RegExp(`^${label.toLowerCase()}/`);
      assert.match(stop.runtime, expected);
      assert.ok(receiver.requests.every((request) => !request.body.includes("SECRET_")));
      // While pings wait, the sender keeps their tracker's URL in a private file; once it leaves, none is left.
      await waitUntil(
        () => listState(`${session.home}/.claude/telemhq`, "destinations").length === 0,
        "the sender to let go of the URL",
      );
      assert.deepEqual(
        filesHolding(`${session.home}/.claude`, receiver.token),
        [],
        "the token is only in Claude Code's store",
      );
    } finally {
      await Promise.all([api.close(), receiver.close()]);
      await removeTree(session.home);
    }
  });
}

Deno.test("plugin with no runtime on PATH: no ping, nothing disturbed, and its doctor says what to install", async () => {
  const api = await startAnthropicStandIn();
  const receiver = await startReceiver();
  const session = newSession();
  try {
    const path = pathWith(session.home, {});
    await installPlugin(session, path, receiver);
    Deno.writeTextFileSync(session.settings, "{}");
    // Streamed, so that the hooks' answers show: the plugin's SessionStart hook tells the user once.
    const turn = await runProcess([
      CLAUDE,
      "-p",
      "please SCENARIO:plain SECRET_PROMPT do it",
      "--settings",
      session.settings,
      "--model",
      "claude-sonnet-4-5",
      "--output-format",
      "stream-json",
      "--verbose",
    ], {
      cwd: session.cwd,
      env: {
        HOME: session.home,
        PATH: path,
        ANTHROPIC_BASE_URL: api.url,
        ANTHROPIC_API_KEY: "sk-ant-test-e2e",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        DISABLE_AUTOUPDATER: "1",
      },
      timeoutMs: 120_000,
    });
    assert.equal(turn.code, 0, turn.stderr);
    const answers = turn.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line))
      .filter((message) => message.subtype === "hook_response" && message.hook_event === "SessionStart");
    assert.equal(answers.length, 1, turn.stdout.slice(0, 2000));
    assert.equal(answers[0].exit_code, 0);
    assert.match(JSON.parse(answers[0].stdout).systemMessage, /^TelemHQ: no runtime for the hook .* no usage is sent/);
    assert.ok(!api.bodies.some((body) => body.includes("TelemHQ: no runtime")), "the model never sees it");
    const doctor = await runProcess(["/bin/sh", `${ROOT}hooks/telemhq.sh`, "doctor"], {
      env: { HOME: session.home, PATH: path },
    });
    // The positive signal that this turn's hooks had their chance: with Bun added, the next turn's pings arrive,
    // and a sender would have taken anything the first turn had spooled along with them.
    Deno.symlinkSync(runtimeBinary("bun"), `${path}/bun`);
    const next = await runClaude(session, {
      prompt: "please SCENARIO:plain SECRET_PROMPT do it",
      apiUrl: api.url,
      path,
    });
    assert.equal(next.code, 0, next.stderr);
    await receiver.waitFor(2, 20_000);
    const sessions = new Set(receiver.requests.map((request) => JSON.parse(request.body).session_id));
    assert.equal(sessions.size, 1, "only the second turn's session: the first, without a runtime, sent nothing");
    assert.equal(doctor.code, 1);
    assert.match(doctor.stderr, /no runtime for hook\.ts: looked for Bun, Deno and Node 20 or later on PATH\./);
    assert.match(doctor.stderr, /Install one \(Bun: https:\/\/bun\.sh, Deno: https:\/\/deno\.com, or Node 20\+\)/);
  } finally {
    await Promise.all([api.close(), receiver.close()]);
    await removeTree(session.home);
  }
});

/** Hook processes the launcher started detached for a session (their command line names its home). */
function detachedHooksOf(home: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const args = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\u0000");
      if (args.includes("--detached") && args.some((arg) => arg.startsWith(home))) found.push(Number(entry.name));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

Deno.test("plugin and settings install both active: one ping per event; doctor names both; after plugin uninstall the settings route alone", async () => {
  const api = await startAnthropicStandIn();
  const receiver = await startReceiver();
  const session = newSession();
  try {
    const path = pathWith(session.home, { bun: runtimeBinary("bun") });
    await installPlugin(session, path, receiver, false);
    const install = await runProcess([runtimeBinary("bun"), HOOK_PATH, "install", "--url", receiver.url], {
      cwd: session.cwd,
      env: { HOME: session.home, PATH: `${path}:/usr/bin:/bin` },
    });
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /Warning: the TelemHQ plugin \(telemhq@telemhq\) is enabled too/);
    Deno.writeTextFileSync(session.settings, "{}");
    const turn = await runClaude(session, {
      prompt: "please SCENARIO:plain SECRET_PROMPT do it",
      apiUrl: api.url,
      path,
    });
    assert.equal(turn.code, 0, turn.stderr);
    await receiver.waitFor(2, 20_000);
    // The launcher hands each event to a detached hook and returns: once none of this session's is left, every ping
    // either route made is in the spool, and a claimed one stays there until the tracker answered. Once the spool is
    // empty too, every ping has arrived: counting now can only see a duplicate, never miss one still on its way.
    await waitUntil(() => detachedHooksOf(session.home).length === 0, "the detached hooks to finish");
    await waitUntil(() => listState(`${session.home}/.claude/telemhq`, "spool").length === 0, "the spool to empty");
    const ids = receiver.requests.map((request) => JSON.parse(request.body).ping_id);
    assert.equal(ids.length, 2, "Stop and SessionEnd, once each");
    assert.equal(new Set(ids).size, 2);
    const doctor = await runProcess([runtimeBinary("bun"), `${session.home}/.claude/hooks/telemhq.ts`, "doctor"], {
      env: { HOME: session.home, PATH: path },
    });
    assert.match(
      doctor.stdout,
      /note {5}Both the TelemHQ plugin \(telemhq@telemhq\) and .*settings\.json run the hook/,
    );

    const uninstall = await claudeCli(session, path, ["plugin", "uninstall", "telemhq@telemhq"]);
    assert.equal(uninstall.code, 0, uninstall.stdout + uninstall.stderr);
    const removed = await runProcess([runtimeBinary("bun"), `${session.home}/.claude/hooks/telemhq.ts`, "uninstall"], {
      env: { HOME: session.home, PATH: path },
    });
    assert.equal(removed.code, 0, removed.stderr);
    await waitUntil(() => !exists(`${session.home}/.claude/telemhq/sender.lock`), "the sender to leave");
    const before = receiver.requests.length;
    // A hook of the user's own, as a witness that Stop hooks ran on the next turn.
    Deno.writeTextFileSync(
      session.settings,
      JSON.stringify({
        hooks: { Stop: [{ hooks: [{ type: "command", command: `: > '${session.home}/stop-ran'` }] }] },
      }),
    );
    const after = await runClaude(session, {
      prompt: "please SCENARIO:plain SECRET_PROMPT do it",
      apiUrl: api.url,
      path,
    });
    assert.equal(after.code, 0, after.stderr);
    // Claude Code waits for its synchronous hooks: the user's own Stop hook has run, so ours would have too.
    assert.ok(exists(`${session.home}/stop-ran`), "the turn's Stop hooks ran");
    assert.equal(receiver.requests.length, before, "with both removed, a turn sends nothing");
  } finally {
    await Promise.all([api.close(), receiver.close()]);
    await removeTree(session.home);
  }
});

Deno.test("hooks/telemhq.sh never runs a runtime found through a relative PATH entry (a repository's own bun)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "telemhq-plugin-path-" });
  try {
    Deno.writeTextFileSync(`${dir}/bun`, `#!/bin/sh\ntouch "${dir}/ran"\n`, { mode: 0o755 });
    // The real Bun, later on PATH: the event reaches a runtime, and its ping is the signal that the choice is made.
    const bin = Deno.makeTempDirSync({ prefix: "telemhq-plugin-bin-" });
    Deno.symlinkSync(runtimeBinary("bun"), `${bin}/bun`);
    const receiver = await startReceiver();
    try {
      const run = await runProcess(["/bin/sh", `${ROOT}hooks/telemhq.sh`], {
        cwd: dir,
        env: {
          HOME: dir,
          PATH: `.::${bin}:/usr/bin:/bin`,
          CLAUDE_PLUGIN_OPTION_PING_URL: receiver.url,
          TELEMHQ_SENDER_IDLE_MS: "0",
        },
        stdin: '{"hook_event_name":"Stop","session_id":"s"}',
      });
      assert.equal(run.code, 0);
      assert.equal(run.stdout, "");
      await receiver.waitFor(1);
      assert.match(JSON.parse(receiver.requests[0].body).runtime, /^bun\//);
      assert.ok(!exists(`${dir}/ran`), "the repository's bun ran");
    } finally {
      await receiver.close();
      await removeTree(bin);
    }
  } finally {
    await removeTree(dir);
  }
});
