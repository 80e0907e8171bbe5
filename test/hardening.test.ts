// What a security review and a new-user trial found, each held by a test
// with real processes, real files and a real receiver on 127.0.0.1: values
// from events and files never become paths, the state directory is trusted
// only when it is private, secrets are never echoed or left behind, and every
// command tells the truth in one line.
import assert from "node:assert/strict";
import { buildPayload, redactSecrets, STATE_LAYOUT, webCryptoSha256Hex } from "../mod.ts";
import {
  copyDirectory,
  HOOK_PATH,
  LAUNCHER_PATH,
  listState,
  NEWEST_FIXTURES,
  pathExists,
  type ProcessRun,
  type Receiver,
  removeTree,
  runHook,
  runProcess,
  runtimeBinary,
  type RuntimeName,
  RUNTIMES,
  startReceiver,
  testEnv,
  waitUntil,
} from "./_helpers.ts";

const TOKEN = "SECRET_TOKEN_hardening_41c9";

/** A throwaway HOME holding the recorded `plain` session, its events' paths pointing into it. */
function homeWithSession(): { home: string; events: Record<string, unknown>[] } {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  copyDirectory(`${NEWEST_FIXTURES}/plain/home`, home);
  const events = Deno.readTextFileSync(`${NEWEST_FIXTURES}/plain/events.jsonl`).trim().split("\n")
    .map((line) => JSON.parse(line.replaceAll("/home/dev", home)));
  return { home, events };
}

function event(events: Record<string, unknown>[], name: string): Record<string, unknown> {
  return structuredClone(events.find((item) => item.hook_event_name === name)!);
}

/** Runs `hook.ts ARGS` as people do (`deno run -A`, or `bun`), with HOME, a minimal PATH and `env`. */
function cli(
  runtime: RuntimeName,
  home: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<ProcessRun> {
  const command = runtime === "deno"
    ? [runtimeBinary("deno"), "run", "-A", HOOK_PATH]
    : [runtimeBinary("bun"), HOOK_PATH];
  return runProcess([...command, ...args], {
    cwd: options.cwd ?? home,
    env: { HOME: home, ...options.env },
    stdin: options.stdin,
  });
}

/** Every file under a folder that holds `text`. */
function filesHolding(dir: string, text: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    for (const entry of Deno.readDirSync(path)) {
      const full = `${path}/${entry.name}`;
      if (entry.isDirectory) walk(full);
      else if (entry.isFile && Deno.readTextFileSync(full).includes(text)) found.push(full);
    }
  };
  walk(dir);
  return found;
}

async function withReceiver(
  body: (receiver: Receiver) => Promise<void>,
  respond?: Parameters<typeof startReceiver>[0],
): Promise<void> {
  const receiver = await startReceiver(respond);
  try {
    await body(receiver);
  } finally {
    await receiver.close();
  }
}

Deno.test("1. a session_id with ../ names no file: ledgers are named by a hash, settings.json is untouched", async () => {
  const { home, events } = homeWithSession();
  await withReceiver(async (receiver) => {
    const settings = `${home}/.claude/settings.json`;
    Deno.writeTextFileSync(settings, '{"model":"opus"}\n');
    const stateDir = `${home}/.claude/telemhq`;
    Deno.mkdirSync(`${stateDir}/sessions/x`, { recursive: true, mode: 0o700 });
    const hostile = "x/../../../settings";
    const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, HOME: home });
    for (const name of ["Stop", "SessionEnd"]) {
      const run = await runHook("bun", JSON.stringify({ ...event(events, name), session_id: hostile }), env);
      assert.equal(run.code, 0);
    }
    await receiver.waitFor(2);
    assert.equal(Deno.readTextFileSync(settings), '{"model":"opus"}\n', "settings.json is untouched");
    const stop = JSON.parse(receiver.requests.find((request) => request.body.includes('"Stop"'))!.body);
    assert.ok(stop.total_tokens > 0, "the turn's usage was still read");
    for (const name of listState(stateDir, "sessions")) assert.match(name, /^(x|[0-9a-f]{32}\.json)$/);
  });
  await removeTree(home);
});

Deno.test("2. an error with one ping stays with it: retried, set aside in failed/ with its reason; the rest flow", async () => {
  const { home, events } = homeWithSession();
  await withReceiver(async (receiver) => {
    const stateDir = `${home}/.claude/telemhq`;
    Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    // The session's ledger is a folder with a file in it: adding the turn's usage to it fails, every time.
    // Its name: a hash of the session id (src/state_dir.ts, ledgerFileName).
    const hash = (await webCryptoSha256Hex(`session\u0000${event(events, "Stop").session_id}`)).slice(0, 32);
    const ledger = `${stateDir}/${STATE_LAYOUT.sessions}/${hash}.json`;
    Deno.mkdirSync(ledger, { recursive: true, mode: 0o700 });
    Deno.writeTextFileSync(`${ledger}/x`, "");
    const env = testEnv(stateDir, {
      TELEMHQ_PING_URL: receiver.url,
      HOME: home,
      TELEMHQ_RETRY_BASE_MS: "10",
      TELEMHQ_RETRY_MAX_MS: "40",
    });
    assert.equal((await runHook("bun", JSON.stringify(event(events, "Stop")), env)).code, 0);
    for (let index = 0; index < 3; index++) {
      const tool = { ...event(events, "Stop"), hook_event_name: "PostToolUse", tool_use_id: `toolu_${index}` };
      assert.equal((await runHook("bun", JSON.stringify(tool), env)).code, 0);
    }
    await waitUntil(() => listState(stateDir, STATE_LAYOUT.failed).length === 1, "the faulty ping set aside");
    await receiver.waitFor(3);
    assert.deepEqual(
      receiver.requests.map((request) => JSON.parse(request.body).event),
      ["PostToolUse", "PostToolUse", "PostToolUse"],
    );
    await waitUntil(() => !listState(stateDir).includes(STATE_LAYOUT.lock), "the sender to leave");
    const status = JSON.parse(Deno.readTextFileSync(`${stateDir}/${STATE_LAYOUT.status}`));
    assert.equal(status.faulted, 1);
    const [failed] = listState(stateDir, STATE_LAYOUT.failed);
    const entry = JSON.parse(Deno.readTextFileSync(`${stateDir}/${STATE_LAYOUT.failed}/${failed}`));
    assert.match(entry.failed.reason, /could not handle a spooled ping here \((EISDIR|ENOTEMPTY|EEXIST)\), 5 times/);
    assert.deepEqual(listState(stateDir, STATE_LAYOUT.spool), [], "nothing left claimed or waiting");
  });
  await removeTree(home);
});

for (const runtime of RUNTIMES) {
  Deno.test(`3. ${runtime}: a state directory others can write, or another user's, is refused and never written through`, async () => {
    await withReceiver(async (receiver) => {
      const parent = Deno.makeTempDirSync({ prefix: "telemhq-hard-" });
      try {
        const victim = `${parent}/victim.txt`;
        Deno.writeTextFileSync(victim, "victim\n");
        const shared = `${parent}/shared`;
        Deno.mkdirSync(shared);
        Deno.chmodSync(shared, 0o777);
        Deno.symlinkSync(victim, `${shared}/${STATE_LAYOUT.lock}`);
        const theirs = `${parent}/theirs`;
        Deno.mkdirSync(theirs, { mode: 0o700 });
        Deno.chownSync(theirs, 65534, 65534);
        for (const [dir, why] of [[shared, /writable by other users/], [theirs, /belongs to another user/]] as const) {
          const env = testEnv(dir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_HOOK_DEBUG: "1" });
          const run = await runHook(runtime, JSON.stringify({ hook_event_name: "Stop", session_id: "s1" }), env);
          assert.equal(run.code, 0);
          assert.match(run.stderr, why);
          assert.match(run.stderr, /sent directly/);
        }
        await receiver.waitFor(2);
        assert.equal(Deno.readTextFileSync(victim), "victim\n", "the symlinked file is untouched");
        assert.deepEqual([...Deno.readDirSync(shared)].map((entry) => entry.name), [STATE_LAYOUT.lock]);
        assert.deepEqual([...Deno.readDirSync(theirs)], []);
      } finally {
        await removeTree(parent);
      }
    });
  });
}

Deno.test("3. spool entries are data: re-checked field by field, and sent to the URL configured now, never one from a file", async () => {
  await withReceiver(async (attacker) => {
    await withReceiver(async (receiver) => {
      const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-hard-state-" });
      try {
        Deno.mkdirSync(`${stateDir}/spool`, { mode: 0o700 });
        const payload = await buildPayload(
          { hook_event_name: "PostToolUse", session_id: "s1", tool_use_id: "toolu_planted" },
          { fallbackCwd: "/home/dev/api", runtime: "bun/1.4.5" },
        );
        // An entry as the previous version wrote it (with its URL), with extra content planted in the ping.
        const planted = {
          v: 1,
          url: attacker.url,
          payload: { ...payload, prompt: "SECRET_PROMPT", model: "claude\n/home/alice", cost_usd: "free" },
          created_at: Date.now(),
          attempts: 0,
          next_at: 0,
        };
        Deno.writeTextFileSync(`${stateDir}/spool/${payload.ping_id}.json`, JSON.stringify(planted));
        const broken = { ...planted, payload: { event: "Stop" } };
        Deno.writeTextFileSync(`${stateDir}/spool/${"0".repeat(32)}.json`, JSON.stringify(broken));
        const flush = await cli("bun", stateDir, ["flush"], {
          env: testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url }),
        });
        assert.equal(flush.code, 0, flush.stdout + flush.stderr);
        assert.equal(attacker.requests.length, 0, "nothing went to the URL in the file");
        assert.equal(receiver.requests.length, 1, "the broken entry is not a ping");
        assert.deepEqual(JSON.parse(receiver.requests[0].body), payload);
      } finally {
        await removeTree(stateDir);
      }
    });
  });
});

Deno.test("4. a transcript that never ends (a FIFO) or lies outside Claude Code's projects folder is not read", async () => {
  const { home, events } = homeWithSession();
  await withReceiver(async (receiver) => {
    const fifo = `${home}/.claude/projects/stalled.jsonl`;
    await runProcess(["/usr/bin/mkfifo", fifo]);
    const elsewhere = `${home}/elsewhere.jsonl`;
    const stop = event(events, "Stop");
    Deno.copyFileSync(String(stop.transcript_path), elsewhere);
    const env = testEnv(`${home}/.claude/telemhq`, { TELEMHQ_PING_URL: receiver.url, HOME: home });
    for (const [prompt, path] of [["p-fifo", fifo], ["p-elsewhere", elsewhere]]) {
      const run = await runHook("bun", JSON.stringify({ ...stop, prompt_id: prompt, transcript_path: path }), env);
      assert.equal(run.code, 0);
    }
    assert.equal((await runHook("bun", JSON.stringify(stop), env)).code, 0);
    await receiver.waitFor(3, 15_000);
    const pings = receiver.requests.map((request) => JSON.parse(request.body));
    assert.equal(pings.find((ping) => ping.prompt_id === "p-fifo")?.total_tokens, undefined);
    assert.equal(pings.find((ping) => ping.prompt_id === "p-elsewhere")?.total_tokens, undefined);
    assert.ok(pings.find((ping) => ping.prompt_id === stop.prompt_id)?.total_tokens > 0, "the real one is read");
  });
  await removeTree(home);
});

Deno.test("5. install makes the saved URL 0600 and the state folder 0700 though they existed looser; doctor flags loose modes", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  try {
    const stateDir = `${home}/.claude/telemhq`;
    Deno.mkdirSync(stateDir, { recursive: true });
    Deno.chmodSync(stateDir, 0o755);
    Deno.writeTextFileSync(`${stateDir}/config.json`, '{"ping_url":"https://old.example/ping/OLD"}\n');
    Deno.chmodSync(`${stateDir}/config.json`, 0o644);
    const install = await cli("bun", home, ["install", "--url", `https://telemhq.example/ping/${TOKEN}`]);
    assert.equal(install.code, 0, install.stderr);
    assert.equal(Deno.statSync(`${stateDir}/config.json`).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(stateDir).mode! & 0o777, 0o700);
    Deno.chmodSync(`${stateDir}/config.json`, 0o644);
    const doctor = await cli("bun", home, ["doctor"]);
    assert.equal(doctor.code, 1);
    assert.match(
      doctor.stdout,
      /PROBLEM {2}.*config\.json holds the token and can be read by other users \(mode 644\)/,
    );
  } finally {
    await removeTree(home);
  }
});

Deno.test("6. a URL typed where it does not belong is never echoed: every message redacts it", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  try {
    const url = `https://telemhq.com/ping/${TOKEN}`;
    for (
      const args of [["install", url], ["install", `--scope=${url}`], [url], ["flush", url], [
        "install",
        "--runtime",
        url,
      ]]
    ) {
      const run = await cli("bun", home, args);
      assert.equal(run.code, 2, args.join(" "));
      assert.ok(!run.stderr.includes(TOKEN) && !run.stdout.includes(TOKEN), `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /https:\/\/telemhq\.com\/<redacted>/);
      assert.equal(run.stderr.trimEnd().split("\n").length, 1);
    }
    assert.equal(
      redactSecrets(`see ${url}?x=1 and http://u:p@h/`),
      "see https://telemhq.com/<redacted> and http://h/<redacted>",
    );
  } finally {
    await removeTree(home);
  }
});

Deno.test("7. the token does not outlive uninstall: no spool entry holds it, and the last uninstall clears the state", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  try {
    const closed = await startReceiver();
    await closed.close(); // a tracker that is down: pings stay in the spool
    const url = `http://127.0.0.1:${closed.port}/ping/${TOKEN}`;
    assert.equal((await cli("bun", home, ["install", "--url", url])).code, 0);
    const env = testEnv(`${home}/.claude/telemhq`, { HOME: home });
    for (let index = 0; index < 3; index++) {
      const tool = { hook_event_name: "PostToolUse", session_id: "s1", tool_use_id: `toolu_${index}` };
      await runHook("bun", JSON.stringify(tool), env);
    }
    await waitUntil(() => listState(`${home}/.claude/telemhq`, "spool").length === 3, "three spooled pings");
    assert.deepEqual(filesHolding(`${home}/.claude/telemhq/spool`, TOKEN), [], "spool entries hold no URL");
    const uninstall = await cli("bun", home, ["uninstall"]);
    assert.equal(uninstall.code, 0, uninstall.stderr);
    assert.match(uninstall.stdout, /including 3 unsent pings/);
    assert.deepEqual(filesHolding(home, TOKEN), [], "no file under HOME holds the token");
    assert.ok(!pathExists(`${home}/.claude/telemhq`), "the state directory is gone");
  } finally {
    await removeTree(home);
  }
});

Deno.test("8. install takes the URL from stdin (--url -), off the process list", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  try {
    const url = `https://telemhq.example/ping/${TOKEN}`;
    const run = await cli("bun", home, ["install", "--url", "-"], { stdin: `${url}\n` });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(Deno.readTextFileSync(`${home}/.claude/telemhq/config.json`)).ping_url, url);
    assert.ok(!run.stdout.includes(TOKEN));
  } finally {
    await removeTree(home);
  }
});

Deno.test("10, 11. every command fails in one clear line with a non-zero exit; unknown flags and arguments are refused", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  try {
    Deno.mkdirSync(`${home}/.claude`);
    Deno.writeTextFileSync(`${home}/.claude/hooks`, "a file where a folder should be");
    const install = await cli("bun", home, ["install", "--url", "https://telemhq.example/ping/T"]);
    assert.equal(install.code, 1);
    assert.match(install.stderr, /^Cannot install: unexpected error \((EEXIST|ENOTDIR)\)\. Run doctor/);
    assert.equal(install.stderr.trimEnd().split("\n").length, 1);
    for (const args of [["flush", "--bogus"], ["flush", "extra"], ["log", "--json", "extra"], ["doctor", "--fix"]]) {
      const run = await cli("bun", home, args);
      assert.equal(run.code, 2, args.join(" "));
      assert.match(run.stderr, /^(Unknown option|Unexpected argument) "/, args.join(" "));
    }
  } finally {
    await removeTree(home);
  }
});

Deno.test("12. Deno is not installed with a path its permission flags would split at a comma", async () => {
  const parent = Deno.makeTempDirSync({ prefix: "telemhq-hard-" });
  const home = `${parent}/a,b`;
  Deno.mkdirSync(home);
  try {
    const run = await cli("deno", home, ["install", "--url", "https://telemhq.example/ping/T"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^Cannot install for Deno: the path ".*a,b.*" holds a comma/);
    assert.ok(!pathExists(`${home}/.claude`), "nothing was written");
  } finally {
    await removeTree(parent);
  }
});

Deno.test("13. doctor never runs a program named in a repository's settings file", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  try {
    const project = `${home}/repo`;
    Deno.mkdirSync(`${project}/.git`, { recursive: true });
    Deno.mkdirSync(`${project}/.claude`);
    const marker = `${home}/evil-ran`;
    Deno.writeTextFileSync(`${project}/evil.sh`, `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
    const command = `./evil.sh --then ${home}/.claude/hooks/telemhq.ts`;
    Deno.writeTextFileSync(
      `${project}/.claude/settings.json`,
      JSON.stringify({ hooks: { Stop: [{ hooks: [{ type: "command", command }] }] } }),
    );
    const doctor = await cli("bun", home, ["doctor"], { cwd: project });
    assert.equal(doctor.code, 1);
    assert.ok(!pathExists(marker), "evil.sh did not run");
  } finally {
    await removeTree(home);
  }
});

Deno.test("15. after a revoked token, doctor says the tracker refused it and what to do; flush --retry-failed resends", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  let accept = false;
  await withReceiver(async (receiver) => {
    try {
      assert.equal((await cli("bun", home, ["install", "--url", receiver.url])).code, 0);
      const env = testEnv(`${home}/.claude/telemhq`, { HOME: home });
      await runHook("bun", JSON.stringify({ hook_event_name: "PostToolUse", session_id: "s", tool_use_id: "t1" }), env);
      await waitUntil(() => listState(`${home}/.claude/telemhq`, "failed").length === 1, "the refused ping in failed/");
      const doctor = await cli("bun", home, ["doctor"]);
      assert.equal(doctor.code, 1);
      assert.match(
        doctor.stdout,
        /PROBLEM {2}1 ping was refused or set aside \(latest: .*answered HTTP 401\): the tracker refused the token: check the ping URL/,
      );
      accept = true;
      const flush = await cli("bun", home, ["flush", "--retry-failed"]);
      assert.equal(flush.code, 0, flush.stdout + flush.stderr);
      assert.match(flush.stdout, /^Put 1 refused ping back in the spool\.\nDelivered 1 ping now\./);
      assert.equal(JSON.parse(receiver.requests.at(-1)!.body).tool_use_id, "t1");
    } finally {
      await removeTree(home);
    }
  }, () => ({ status: accept ? 200 : 401 }));
});

Deno.test("16. a Deno hook may reach only the tracker in force: the session's URL through the launcher, else install's", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  await withReceiver(async (first) => {
    await withReceiver(async (second) => {
      try {
        assert.equal((await cli("deno", home, ["install", "--url", first.url])).code, 0);
        const record = JSON.parse(Deno.readTextFileSync(`${home}/.claude/telemhq/install.json`));
        const env = { HOME: home, TELEMHQ_PING_URL: second.url, TELEMHQ_HOOK_DEBUG: "1", TELEMHQ_SENDER_IDLE_MS: "0" };
        // The hook's own command line, as install resolved it for the saved URL: another tracker is out of reach.
        const hook = await runProcess(record.hook_argv, { env, stdin: '{"hook_event_name":"Stop","session_id":"s"}' });
        assert.equal(hook.code, 0);
        assert.match(
          hook.stderr,
          /may not reach 127\.0\.0\.1:\d+ \(it was installed for another tracker\): run install again/,
        );
        // Through the launcher, the session's own URL is the one Deno may reach, and nothing else.
        const launcher = ["/bin/sh", record.launcher, ...record.launcher_args];
        const argv = await runProcess([...launcher, "--print-argv"], { env });
        assert.deepEqual(argv.stdout.split("\n").filter((word) => word.startsWith("--allow-net")), [
          `--allow-net=127.0.0.1:${second.port}`,
        ]);
        const saved = await runProcess([...launcher, "--print-argv"], { env: { HOME: home } });
        assert.ok(saved.stdout.includes(`--allow-net=127.0.0.1:${first.port}\n`), "else install's URL");
        const doctor = await cli("deno", home, ["doctor", "--ping"], { env: { TELEMHQ_PING_URL: second.url } });
        assert.match(doctor.stdout, /ok {7}Test ping accepted/);
        assert.doesNotMatch(doctor.stdout, /may only reach/);
        assert.equal(first.requests.length, 0);
        assert.equal(JSON.parse(second.requests.at(-1)!.body).event, "DoctorPing");
      } finally {
        await removeTree(home);
      }
    });
  });
});

Deno.test("17. --scope project writes the repository's root settings from any subfolder, refuses outside one, and warns of a second command", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  try {
    const repo = `${home}/repo`;
    Deno.mkdirSync(`${repo}/.git`, { recursive: true });
    Deno.mkdirSync(`${repo}/a/b`, { recursive: true });
    const url = "https://telemhq.example/ping/T";
    assert.equal((await cli("bun", home, ["install", "--url", url])).code, 0);
    const project = await cli("bun", home, ["install", "--url", url, "--scope", "project"], { cwd: `${repo}/a/b` });
    assert.equal(project.code, 0, project.stderr);
    assert.ok(pathExists(`${repo}/.claude/settings.json`) && !pathExists(`${repo}/a/b/.claude`));
    assert.match(project.stdout, /holds this machine's absolute paths/);
    // The same command in two files runs once (Claude Code runs identical commands once): no warning.
    assert.doesNotMatch(project.stdout, /Warning/);
    const other = await cli("bun", home, ["install", "--url", url, "--scope", "local", "--runtime", "deno"], {
      cwd: repo,
      env: { PATH: `${runtimeBinary("deno").replace(/\/[^/]*$/, "")}:/usr/bin:/bin` },
    });
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stdout, /Warning: .*\/\.claude\/settings\.json runs another TelemHQ hook command/);
    Deno.mkdirSync(`${home}/plain`);
    const outside = await cli("bun", home, ["install", "--url", url, "--scope", "project"], { cwd: `${home}/plain` });
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /is not inside a git repository/);
  } finally {
    await removeTree(home);
  }
});

Deno.test("18. a broken settings file is refused with its line under Bun too", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  try {
    Deno.mkdirSync(`${home}/.claude`);
    Deno.writeTextFileSync(`${home}/.claude/settings.json`, '{\n  "model": "opus",\n  "hooks": {,\n}\n');
    const run = await cli("bun", home, ["install", "--url", "https://telemhq.example/ping/T"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /not valid JSON at line 3\./);
  } finally {
    await removeTree(home);
  }
});

Deno.test("19. uninstall tells the truth, leaves no file it created, and doctor under Deno asks for permissions", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  try {
    const nothing = await cli("bun", home, ["uninstall"]);
    assert.equal(nothing.code, 0);
    assert.doesNotMatch(nothing.stdout, /Removed/);
    assert.equal((await cli("bun", home, ["install", "--url", "https://telemhq.example/ping/T"])).code, 0);
    const command = await cli("deno", home, ["command"]);
    assert.match(command.stdout, /--host telemhq\.example$/m, "Deno's network narrowed to the saved URL's host");
    const uninstall = await cli("bun", home, ["uninstall"]);
    assert.match(uninstall.stdout, /Removed .*settings\.json, which install had created/);
    // The hooks folder install created goes too, once empty: nothing is left behind.
    assert.deepEqual([...Deno.readDirSync(`${home}/.claude`)].map((entry) => entry.name).sort(), []);
    const bare = await runProcess([runtimeBinary("deno"), "run", HOOK_PATH, "doctor"], { env: { HOME: home } });
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /^Cannot run doctor: Deno was not given the permissions it needs \(env\)/);
  } finally {
    await removeTree(home);
  }
});

Deno.test("21. the installed Deno hook cannot read Claude Code's credentials, only its transcripts", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  try {
    assert.equal((await cli("deno", home, ["install", "--url", "https://telemhq.example/ping/T"])).code, 0);
    Deno.writeTextFileSync(`${home}/.claude/.credentials.json`, '{"secret":"SECRET_CREDENTIAL"}');
    Deno.mkdirSync(`${home}/.claude/projects/p`, { recursive: true });
    Deno.writeTextFileSync(`${home}/.claude/projects/p/t.jsonl`, "{}\n");
    const record = JSON.parse(Deno.readTextFileSync(`${home}/.claude/telemhq/install.json`));
    const probe = `${home}/probe.ts`;
    Deno.writeTextFileSync(
      probe,
      `for (const path of Deno.args) {
        try { Deno.readTextFileSync(path); console.log("read"); } catch { console.log("denied"); }
      }`,
    );
    const argv = [
      ...record.hook_argv.slice(0, -1),
      probe,
      `${home}/.claude/.credentials.json`,
      `${home}/.claude/projects/p/t.jsonl`,
    ];
    const run = await runProcess(argv, { env: { HOME: home } });
    assert.deepEqual(run.stdout.trim().split("\n"), ["denied", "read"], run.stderr);
  } finally {
    await removeTree(home);
  }
});

Deno.test("22. TELEMHQ_HASH_SALT changes the path hashes, the same for everyone who shares it", async () => {
  await withReceiver(async (receiver) => {
    const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-hard-state-" });
    try {
      const stop = JSON.stringify({ hook_event_name: "Stop", session_id: "s", cwd: "/home/alice/api", prompt_id: "p" });
      for (const salt of ["", "team-secret", "team-secret"]) {
        const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_HASH_SALT: salt });
        await runHook("bun", stop.replace('"p"', `"p${receiver.requests.length}-${salt}"`), env);
        await receiver.waitFor(receiver.requests.length + 1);
      }
      const [plain, first, second] = receiver.requests.map((request) => JSON.parse(request.body).cwd_hash);
      assert.notEqual(first, plain);
      assert.equal(first, second);
    } finally {
      await removeTree(stateDir);
    }
  });
});

Deno.test("24. log shows exactly what was delivered, newest first, with when and the tracker's answer", async () => {
  await withReceiver(async (receiver) => {
    const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-hard-state-" });
    try {
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url });
      for (let index = 0; index < 3; index++) {
        await runHook(
          "bun",
          JSON.stringify({ hook_event_name: "PostToolUse", session_id: "s", tool_use_id: `t${index}` }),
          env,
        );
        await receiver.waitFor(index + 1);
      }
      const log = await cli("bun", stateDir, ["log", "--json"], { env });
      assert.equal(log.code, 0, log.stderr);
      const records = log.stdout.trim().split("\n").map((line) => JSON.parse(line));
      assert.deepEqual(
        records.map((record) => record.ping),
        receiver.requests.map((request) => JSON.parse(request.body)).reverse(),
      );
      assert.ok(records.every((record) => record.status === 200 && !Number.isNaN(Date.parse(record.delivered_at))));
      const plain = await cli("bun", stateDir, ["log"], { env });
      assert.deepEqual(
        plain.stdout.trim().split("\n").map((line) => line.split("  ")[2]),
        receiver.requests.map((request) => request.body).reverse(),
        "the exact bodies",
      );
      assert.equal(Deno.statSync(`${stateDir}/${STATE_LAYOUT.journal}`).mode! & 0o777, 0o600);
    } finally {
      await removeTree(stateDir);
    }
  });
});

Deno.test("3. a state directory under a folder another user can change, or with a symlinked spool, is refused", async () => {
  await withReceiver(async (receiver) => {
    const parent = Deno.makeTempDirSync({ prefix: "telemhq-hard-" });
    try {
      const theirs = `${parent}/theirs`;
      Deno.mkdirSync(`${theirs}/state`, { recursive: true, mode: 0o700 });
      Deno.chownSync(theirs, 65534, 65534); // another user's folder, holding what looks like our state
      const mine = `${parent}/mine`;
      Deno.mkdirSync(mine, { mode: 0o700 });
      Deno.mkdirSync(`${parent}/elsewhere`);
      Deno.symlinkSync(`${parent}/elsewhere`, `${mine}/spool`);
      for (
        const [dir, why] of [[`${theirs}/state`, /can be changed by other users/], [
          mine,
          /is not a folder of your own/,
        ]] as const
      ) {
        const env = testEnv(dir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_HOOK_DEBUG: "1" });
        const run = await runHook("bun", JSON.stringify({ hook_event_name: "Stop", session_id: "s1" }), env);
        assert.match(run.stderr, why);
        assert.match(run.stderr, /sent directly/);
      }
      await receiver.waitFor(2);
      assert.deepEqual([...Deno.readDirSync(`${parent}/elsewhere`)], [], "nothing was written through the link");
    } finally {
      await removeTree(parent);
    }
  });
});

Deno.test("review: the sender removes only its own entries, and reads no state file that blocks or lies", async () => {
  await withReceiver(async (receiver) => {
    const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-hard-state-" });
    try {
      Deno.mkdirSync(`${stateDir}/spool`, { mode: 0o700 });
      const keep = `${stateDir}/spool/notes.json`;
      Deno.writeTextFileSync(keep, "not a spool entry");
      const old = new Date(Date.now() - 120_000);
      Deno.utimeSync(keep, old, old);
      await runProcess(["/usr/bin/mkfifo", `${stateDir}/${STATE_LAYOUT.config}`]);
      Deno.writeTextFileSync(`${stateDir}/${STATE_LAYOUT.status}`, '{"dropped":null,"delivered":"x"}');
      const future = new Date(Date.now() + 3_600_000);
      Deno.writeTextFileSync(`${stateDir}/${STATE_LAYOUT.lock}`, "planted");
      Deno.utimeSync(`${stateDir}/${STATE_LAYOUT.lock}`, future, future);
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url });
      const hook = await runHook("bun", JSON.stringify({ hook_event_name: "Stop", session_id: "s1" }), env, {
        killAfterMs: 10_000,
      });
      assert.equal(hook.signal, null, "the hook did not hang on a FIFO config.json");
      const flush = await cli("bun", stateDir, ["flush"], { env });
      assert.equal(flush.code, 0, flush.stdout + flush.stderr);
      assert.equal(receiver.requests.length, 1, "a lock dated in the future is no live sender");
      assert.ok(pathExists(keep), "a file that is not an entry is not removed");
    } finally {
      await removeTree(stateDir);
    }
  });
});

Deno.test("review: a running sender follows a ping URL install changed; uninstall takes the URL from a loose state directory", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  await withReceiver(async (old) => {
    await withReceiver(async (rotated) => {
      try {
        assert.equal((await cli("bun", home, ["install", "--url", old.url])).code, 0);
        const env = testEnv(`${home}/.claude/telemhq`, { HOME: home, TELEMHQ_SENDER_IDLE_MS: "20000" });
        await runHook(
          "bun",
          JSON.stringify({ hook_event_name: "PostToolUse", session_id: "s", tool_use_id: "t1" }),
          env,
        );
        await old.waitFor(1);
        assert.equal((await cli("bun", home, ["install", "--url", rotated.url])).code, 0);
        await runHook(
          "bun",
          JSON.stringify({ hook_event_name: "PostToolUse", session_id: "s", tool_use_id: "t2" }),
          env,
        );
        await rotated.waitFor(1);
        assert.equal(old.requests.length, 1, "nothing more went to the old URL");
        Deno.chmodSync(`${home}/.claude/telemhq`, 0o775);
        const uninstall = await cli("bun", home, ["uninstall"]);
        assert.equal(uninstall.code, 0);
        assert.match(uninstall.stdout, /Removed the saved ping URL, and left the rest/);
        assert.ok(!pathExists(`${home}/.claude/telemhq/config.json`));
      } finally {
        await removeTree(home);
      }
    });
  });
});

Deno.test("review: settings files in a repository are never read or written through a symlink; a user's are edited where they point", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-hard-home-" });
  try {
    const repo = `${home}/repo`;
    Deno.mkdirSync(`${repo}/.git`, { recursive: true });
    Deno.mkdirSync(`${repo}/.claude`);
    Deno.mkdirSync(`${home}/.claude`);
    Deno.writeTextFileSync(`${home}/.claude/.credentials.json`, '{"accessToken":"SECRET_CREDENTIAL"}');
    Deno.symlinkSync(`${home}/.claude/.credentials.json`, `${repo}/.claude/settings.json`);
    const project = await cli("bun", home, ["install", "--url", "https://t.example/p/T", "--scope", "project"], {
      cwd: repo,
    });
    assert.equal(project.code, 1);
    assert.match(project.stderr, /is a symlink, and in a repository nothing is read or written through a link/);
    assert.deepEqual(filesHolding(repo, "SECRET_CREDENTIAL"), []);
    Deno.mkdirSync(`${home}/dotfiles`);
    Deno.writeTextFileSync(`${home}/dotfiles/settings.json`, '{"model":"opus"}\n');
    Deno.symlinkSync(`${home}/dotfiles/settings.json`, `${home}/.claude/settings.json`);
    assert.equal((await cli("bun", home, ["install", "--url", "https://t.example/p/T"])).code, 0);
    assert.ok(Deno.lstatSync(`${home}/.claude/settings.json`).isSymlink, "the user's link stays a link");
    assert.match(
      Deno.readTextFileSync(`${home}/dotfiles/settings.json`),
      /telemhq\.sh --bun \S+ --hook \S+telemhq\.ts/,
    );
  } finally {
    await removeTree(home);
  }
});

Deno.test("review: usage read from a ledger or a transcript is checked as it leaves", async () => {
  const { home, events } = homeWithSession();
  await withReceiver(async (receiver) => {
    const stateDir = `${home}/.claude/telemhq`;
    const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, HOME: home });
    const start = event(events, "Stop");
    await runHook("bun", JSON.stringify(start), env);
    await receiver.waitFor(1);
    for (const name of listState(stateDir, STATE_LAYOUT.sessions)) {
      Deno.writeTextFileSync(
        `${stateDir}/${STATE_LAYOUT.sessions}/${name}`,
        JSON.stringify({
          turns: 1,
          api_requests: 1,
          input_tokens: "SECRET /home/alice",
          output_tokens: 0,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          cost_usd: -5,
        }),
      );
    }
    await runHook("bun", JSON.stringify(event(events, "SessionEnd")), env);
    await receiver.waitFor(2);
    const end = JSON.parse(receiver.requests[1].body);
    assert.equal(end.event, "SessionEnd");
    assert.equal(end.session_input_tokens, undefined, "a broken ledger adds nothing");
    assert.ok(!receiver.requests[1].body.includes("SECRET"));
  });
  await removeTree(home);
});

Deno.test("review: on Linux and macOS a C:/ path is a folder in the project, never where the launcher finds a runtime", async () => {
  const repo = Deno.makeTempDirSync({ prefix: "telemhq-hard-drive-" });
  try {
    // A repository holding C:/h/.deno/bin/deno, and settings that set HOME to C:/h: Windows-looking, relative here.
    Deno.mkdirSync(`${repo}/C:/h/.deno/bin`, { recursive: true });
    Deno.writeTextFileSync(`${repo}/C:/h/.deno/bin/deno`, `#!/bin/sh\necho "$*" > "${repo}/ran"\n`, { mode: 0o755 });
    const run = await runProcess(["/bin/sh", LAUNCHER_PATH, "doctor"], {
      cwd: repo,
      env: { PATH: "/usr/bin:/bin", HOME: "C:/h" },
    });
    assert.ok(!pathExists(`${repo}/ran`), `the repository's program ran: ${run.stdout}${run.stderr}`);
  } finally {
    await removeTree(repo);
  }
});
