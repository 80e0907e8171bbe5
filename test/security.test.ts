// The second security round: what a repository, another local user or a
// full disk could do to the hook's user, each attack reproduced with real
// processes, real files and real receivers on 127.0.0.1 (and, as root, real
// private mount namespaces: a full tmpfs, an /etc overlay), and held.
import assert from "node:assert/strict";
import {
  buildPayload,
  hookArgv,
  launcherArgs,
  launcherCommand,
  launcherScript,
  STATE_LAYOUT,
  UNSAFE_ENV_NAMES,
} from "../mod.ts";
import {
  copyDirectory,
  HOOK_PATH,
  hookCommand,
  listState,
  NEWEST_FIXTURES,
  pathExists,
  type ProcessRun,
  type Receiver,
  removeTree,
  ROOT,
  runHook,
  runProcess,
  runtimeBinary,
  type RuntimeName,
  startReceiver,
  testEnv,
  waitUntil,
} from "./_helpers.ts";

/** Root can make private mount namespaces (unshare -m): a full disk, an /etc of the test's own. */
const AS_ROOT = Deno.uid() === 0;

/** A throwaway HOME holding the recorded `plain` session, its events' paths pointing into it. */
function homeWithSession(): { home: string; events: Record<string, unknown>[] } {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-sec-home-" });
  copyDirectory(`${NEWEST_FIXTURES}/plain/home`, home);
  const events = Deno.readTextFileSync(`${NEWEST_FIXTURES}/plain/events.jsonl`).trim().split("\n")
    .map((line) => JSON.parse(line.replaceAll("/home/dev", home)));
  return { home, events };
}

function event(events: Record<string, unknown>[], name: string): Record<string, unknown> {
  return structuredClone(events.find((item) => item.hook_event_name === name)!);
}

/** Runs `hook.ts ARGS` as people do (`deno run -A`, or `bun`). */
function cli(
  runtime: RuntimeName,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<ProcessRun> {
  const command = runtime === "deno"
    ? [runtimeBinary("deno"), "run", "-A", HOOK_PATH]
    : [runtimeBinary("bun"), HOOK_PATH];
  return runProcess([...command, ...args], { cwd: options.cwd, env: options.env, stdin: options.stdin });
}

async function withReceivers(count: number, body: (receivers: Receiver[]) => Promise<void>): Promise<void> {
  const receivers = await Promise.all(Array.from({ length: count }, () => startReceiver()));
  try {
    await body(receivers);
  } finally {
    await Promise.all(receivers.map((receiver) => receiver.close()));
  }
}

/** Characters that drive a terminal: ESC, BEL, CSI (C1), DEL and the bidi overrides. */
// deno-lint-ignore no-control-regex -- the characters it looks for
const TERMINAL_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * Runs a shell script as root in a private mount namespace (`unshare -m`):
 * what it mounts is seen by it and what it starts, never by the machine.
 */
function inPrivateMounts(script: string, env: Record<string, string>, stdin?: string): Promise<ProcessRun> {
  return runProcess(["/usr/bin/unshare", "-m", "/bin/sh", "-c", `set -eu\n${script}`], { env, stdin });
}

Deno.test("3. each ping goes to the tracker of the session that produced it, even through another session's sender", async () => {
  await withReceivers(2, async ([first, second]) => {
    const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-sec-state-" });
    try {
      // A sender started by the first session stays a while: the second session's ping reaches it.
      const firstEnv = testEnv(stateDir, { TELEMHQ_PING_URL: first.url, TELEMHQ_SENDER_IDLE_MS: "4000" });
      const tool = (id: string) => JSON.stringify({ hook_event_name: "PostToolUse", session_id: id, tool_use_id: id });
      assert.equal((await runHook("bun", tool("first"), firstEnv)).code, 0);
      await first.waitFor(1);
      assert.ok(listState(stateDir).includes(STATE_LAYOUT.lock), "the first session's sender is still running");
      const secondEnv = testEnv(stateDir, { TELEMHQ_PING_URL: second.url });
      assert.equal((await runHook("deno", tool("second"), secondEnv)).code, 0);
      await second.waitFor(1);
      assert.equal(JSON.parse(second.requests[0].body).session_id, "second");
      assert.deepEqual(first.requests.map((request) => JSON.parse(request.body).session_id), ["first"]);
      assert.equal(first.requests.length + second.requests.length, 2, "each ping went to one tracker only");
      // The URLs live in one private file each, never in the spool.
      for (const name of listState(stateDir, STATE_LAYOUT.destinations)) {
        assert.equal(Deno.statSync(`${stateDir}/${STATE_LAYOUT.destinations}/${name}`).mode! & 0o777, 0o600);
      }
      assert.equal(listState(stateDir, STATE_LAYOUT.destinations).length, 2);
      // Once no ping waits for them, the URLs go: a token is kept only as long as it is needed.
      await waitUntil(() => listState(stateDir, STATE_LAYOUT.destinations).length === 0, "the URLs to go");
    } finally {
      await removeTree(stateDir);
    }
  });
});

Deno.test("3. a spool entry never holds its tracker's token, and a session's TELEMHQ_PRICES prices only its own pings", async () => {
  const { home, events } = homeWithSession();
  await withReceivers(1, async ([receiver]) => {
    const stateDir = `${home}/.claude/telemhq`;
    try {
      const stop = event(events, "Stop");
      const free = JSON.stringify({ "claude-sonnet-4-5": { input: 0, output: 0, cache_write_5m: 0, cache_read: 0 } });
      // The first session prices its model at nothing, and its sender lingers and delivers the second's ping.
      const cheapEnv = testEnv(stateDir, {
        HOME: home,
        TELEMHQ_PING_URL: receiver.url,
        TELEMHQ_PRICES: free,
        TELEMHQ_SENDER_IDLE_MS: "4000",
      });
      assert.equal((await runHook("bun", JSON.stringify(stop), cheapEnv)).code, 0);
      await receiver.waitFor(1);
      const plainEnv = testEnv(stateDir, { HOME: home, TELEMHQ_PING_URL: receiver.url });
      assert.equal((await runHook("bun", JSON.stringify({ ...stop, session_id: "another" }), plainEnv)).code, 0);
      await receiver.waitFor(2);
      const [cheap, plain] = receiver.requests.map((request) => JSON.parse(request.body));
      assert.equal(cheap.cost_usd, 0);
      assert.ok(plain.cost_usd > 0, `the other session is priced by the catalog: ${plain.cost_usd}`);
      for (const name of listState(stateDir, STATE_LAYOUT.spool)) {
        assert.ok(!Deno.readTextFileSync(`${stateDir}/${STATE_LAYOUT.spool}/${name}`).includes(receiver.token));
      }
    } finally {
      await removeTree(home);
    }
  });
});

Deno.test("3. a relative TELEMHQ_STATE_DIR (a repository's env) is refused: committed files never pass for the spool", async () => {
  await withReceivers(1, async ([receiver]) => {
    const repo = Deno.makeTempDirSync({ prefix: "telemhq-sec-repo-" });
    try {
      // A repository commits a "spool" with a forged SessionEnd, and points the state folder at it.
      Deno.mkdirSync(`${repo}/.telemhq/spool`, { recursive: true, mode: 0o700 });
      const forged = await buildPayload(
        { hook_event_name: "SessionEnd", session_id: "forged" },
        { fallbackCwd: repo, runtime: "bun/1.4.5" },
      );
      const entry = {
        v: 2,
        payload: { ...forged, session_cost_usd: 99999 },
        created_at: Date.now(),
        attempts: 0,
        next_at: 0,
      };
      Deno.writeTextFileSync(`${repo}/.telemhq/spool/${forged.ping_id}.json`, JSON.stringify(entry));
      const env = { TELEMHQ_STATE_DIR: ".telemhq", TELEMHQ_PING_URL: receiver.url, TELEMHQ_HOOK_DEBUG: "1" };
      for (const runtime of ["bun", "deno"] as const) {
        const stdin = JSON.stringify({ hook_event_name: "PostToolUse", session_id: "real", tool_use_id: runtime });
        const run = await runProcess([...hookCommand(runtime, `${repo}/.telemhq`), "--detached"], {
          cwd: repo,
          env,
          stdin,
        });
        assert.equal(run.code, 0);
        assert.match(run.stderr, /TELEMHQ_STATE_DIR "\.telemhq" is not an absolute path.*sent directly/);
      }
      // Each hook sent its own ping directly and started no sender: nothing could deliver the forged entry.
      assert.deepEqual(receiver.requests.map((request) => JSON.parse(request.body).session_id), ["real", "real"]);
      assert.deepEqual(listState(`${repo}/.telemhq`), ["spool"]);
      assert.deepEqual(listState(`${repo}/.telemhq`, "spool"), [`${forged.ping_id}.json`]);
      const flush = await cli("bun", ["flush"], { cwd: repo, env });
      assert.equal(flush.code, 1);
      assert.match(flush.stderr, /^Cannot flush: TELEMHQ_STATE_DIR "\.telemhq" is not an absolute path/);
    } finally {
      await removeTree(repo);
    }
  });
});

Deno.test({
  name: "4. on a full disk the hook sends directly and leaves nothing half-written; flush says pings are stuck",
  ignore: !AS_ROOT,
  fn: async () => {
    await withReceivers(1, async ([receiver]) => {
      const root = Deno.makeTempDirSync({ prefix: "telemhq-sec-full-" });
      try {
        const mount = `${root}/disk`;
        const state = `${mount}/state`;
        Deno.mkdirSync(mount);
        const hook = hookCommand("bun", state).map((word) => `'${word}'`).join(" ");
        const tool = JSON.stringify({ hook_event_name: "PostToolUse", session_id: "full", tool_use_id: "t1" });
        // A 64 KiB file system, filled up; then the hook, then what is left, then a flush.
        const run = await inPrivateMounts(
          `mount -t tmpfs -o size=64k tmpfs '${mount}'
mkdir -m 700 '${state}' '${state}/spool'
head -c 1048576 /dev/zero > '${mount}/fill' 2>/dev/null || true
${hook} --detached
echo "files: $(cd '${state}' && find . -mindepth 1 | sort | tr '\\n' ' ')"
${hook} flush > /dev/null 2>&1 && echo "flush: 0" || echo "flush: $?"`,
          testEnv(state, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_HOOK_DEBUG: "1" }),
          tool,
        );
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /cannot write the spool .*\(ENOSPC\): sent directly/);
        assert.equal(receiver.requests.length, 1, "the ping went out directly");
        assert.equal(JSON.parse(receiver.requests[0].body).session_id, "full");
        assert.match(run.stdout, /^files: \.\/spool $/m, "no half-written entry, lock or temporary file");
      } finally {
        await removeTree(root);
      }
    });
  },
});

Deno.test({
  name: "4. a full disk mid-delivery leaves no temporary files, and flush exits non-zero while a ping is stuck",
  ignore: !AS_ROOT,
  fn: async () => {
    await withReceivers(1, async ([receiver]) => {
      const root = Deno.makeTempDirSync({ prefix: "telemhq-sec-full-" });
      try {
        const mount = `${root}/disk`;
        const state = `${mount}/state`;
        Deno.mkdirSync(mount);
        const hook = hookCommand("bun", state).map((word) => `'${word}'`).join(" ");
        const payload = await buildPayload(
          { hook_event_name: "PostToolUse", session_id: "stuck", tool_use_id: "t1" },
          { fallbackCwd: "/", runtime: "bun/1.4.5" },
        );
        const entry = JSON.stringify({ v: 2, payload, created_at: Date.now(), attempts: 0, next_at: 0 });
        // A ping claimed by a sender that died, long ago, and a disk too full to put it back or keep a status.
        const claim = `${state}/spool/${payload.ping_id}.json.sending-dead`;
        const run = await inPrivateMounts(
          `mount -t tmpfs -o size=64k tmpfs '${mount}'
mkdir -m 700 '${state}' '${state}/spool'
printf '%s' '${entry}' > '${claim}'
touch -d '2020-01-01' '${claim}'
: > '${state}/status.json.0f0e0d0c-0b0a-4908-8706-050403020100.tmp'
touch -d '2020-01-01' '${state}/status.json.0f0e0d0c-0b0a-4908-8706-050403020100.tmp'
mkdir '${state}/spool/${payload.ping_id}.json'
head -c 1048576 /dev/zero > '${mount}/fill' 2>/dev/null || true
${hook} flush > '${root}/full.out' 2>&1 && echo "full: 0" || echo "full: $?"
echo "files: $(cd '${state}' && find . -mindepth 1 | sort | tr '\\n' ' ')"
rm '${mount}/fill'
${hook} flush > '${root}/flush.out' 2>&1 && echo "flush: 0" || echo "flush: $?"
echo "temporary: $(cd '${state}' && find . -mindepth 1 -name '*.tmp' | sort | tr '\\n' ' ')"`,
          testEnv(state, { TELEMHQ_PING_URL: receiver.url }),
        );
        assert.equal(run.code, 0, run.stderr);
        // A disk too full for even the sender's lock: one clear line, non-zero, and nothing left behind.
        assert.match(run.stdout, /^full: 1$/m);
        assert.match(Deno.readTextFileSync(`${root}/full.out`), /^Cannot flush: the disk of .* is full \(ENOSPC\)/);
        assert.doesNotMatch(run.stdout, /^files: .*(sender\.lock|status\.json )/m);
        const flush = Deno.readTextFileSync(`${root}/flush.out`);
        assert.match(run.stdout, /^flush: 1$/m, flush);
        assert.match(flush, /1 ping is stuck mid-send/);
        assert.match(run.stdout, /^temporary: $/m, "the old temporary file is cleaned, no new one is left");
        assert.equal(receiver.requests.length, 0);
      } finally {
        await removeTree(root);
      }
    });
  },
});

Deno.test("6. doctor and log escape every terminal control from files: C0, C1, DEL and bidi overrides", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-sec-home-" });
  try {
    const project = `${home}/repo`;
    Deno.mkdirSync(`${project}/.git`, { recursive: true });
    Deno.mkdirSync(`${project}/.claude`);
    // An event name that sets the terminal's title, moves the cursor by CSI, and fakes doctor's verdict.
    const event = "Stop\u001b]0;owned\u0007\u009b2J\u202e\n\nAll good.";
    const command = `bun ${home}/.claude/hooks/telemhq.ts`;
    Deno.writeTextFileSync(
      `${project}/.claude/settings.json`,
      JSON.stringify({ hooks: { [event]: [{ hooks: [{ type: "command", command }] }] } }),
    );
    const stateDir = `${home}/.claude/telemhq`;
    Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const body = JSON.stringify({ event: "Stop\u009b31m\u202eevil\u007f", session_id: "s" });
    Deno.writeTextFileSync(
      `${stateDir}/${STATE_LAYOUT.journal}`,
      JSON.stringify({ delivered_at: new Date().toISOString(), status: 200, body }) + "\n",
      { mode: 0o600 },
    );
    for (const runtime of ["bun", "deno"] as const) {
      const doctor = await cli(runtime, ["doctor"], { cwd: project, env: { HOME: home } });
      assert.ok(doctor.stdout.includes("\\u001b]0;owned\\u0007\\u009b2J\\u202e"), doctor.stdout);
      assert.doesNotMatch(doctor.stdout + doctor.stderr, TERMINAL_CONTROLS);
      assert.doesNotMatch(doctor.stdout, /^All good\.$/m);
      const log = await cli(runtime, ["log"], { env: { HOME: home } });
      assert.equal(log.code, 0, log.stderr);
      assert.ok(log.stdout.includes("\\u009b31m\\u202eevil\\u007f"), log.stdout);
      assert.doesNotMatch(log.stdout + log.stderr, TERMINAL_CONTROLS);
    }
  } finally {
    await removeTree(home);
  }
});

Deno.test({
  name:
    "7. managed modelPricing is honoured through a symlink to a root-owned file, and refused through one to a loose file",
  ignore: !AS_ROOT,
  fn: async () => {
    const { home, events } = homeWithSession();
    await withReceivers(1, async ([receiver]) => {
      const root = Deno.makeTempDirSync({ prefix: "telemhq-sec-etc-" });
      try {
        const stop = event(events, "Stop");
        const hook = hookCommand("bun", `${home}/.claude/telemhq`).map((word) => `'${word}'`).join(" ");
        const policy = JSON.stringify({ modelPricing: { multiplier: 0.5 } });
        // Inside: /etc is an overlay only this namespace sees; the policy is deployed as a symlink.
        const run = (target: string, mode: string, sessionId: string) =>
          inPrivateMounts(
            `mkdir -p '${root}/${sessionId}/u' '${root}/${sessionId}/w' '${root}/${sessionId}/m'
mount -t overlay overlay -o lowerdir=/etc,upperdir='${root}/${sessionId}/u',workdir='${root}/${sessionId}/w' '${root}/${sessionId}/m'
mount --bind '${root}/${sessionId}/m' /etc
mkdir -p /etc/claude-code '${root}/deployed'
printf '%s' '${policy}' > '${target}'
chmod ${mode} '${target}'
ln -sf '${target}' /etc/claude-code/managed-settings.json
${hook} --detached
while [ -e '${home}/.claude/telemhq/sender.lock' ] || [ -n "$(ls '${home}/.claude/telemhq/spool')" ]; do sleep 0.05; done`,
            testEnv(`${home}/.claude/telemhq`, { HOME: home, TELEMHQ_PING_URL: receiver.url }),
            JSON.stringify({ ...stop, session_id: sessionId }),
          );
        const plain = await runHook("bun", JSON.stringify({ ...stop, session_id: "no-policy" }), {
          ...testEnv(`${home}/.claude/telemhq`, { HOME: home, TELEMHQ_PING_URL: receiver.url }),
        });
        assert.equal(plain.code, 0);
        await receiver.waitFor(1);
        await waitUntil(() => !listState(`${home}/.claude/telemhq`).includes(STATE_LAYOUT.lock), "the sender to leave");
        const linked = await run(`${root}/deployed/managed-settings.json`, "644", "linked");
        assert.equal(linked.code, 0, linked.stderr);
        const loose = await run(`${root}/deployed/loose.json`, "666", "loose");
        assert.equal(loose.code, 0, loose.stderr);
        await receiver.waitFor(3);
        const cost = (id: string) =>
          receiver.requests.map((request) => JSON.parse(request.body)).find((ping) => ping.session_id === id).cost_usd;
        assert.ok(cost("no-policy") > 0);
        assert.ok(Math.abs(cost("linked") - cost("no-policy") / 2) <= 1e-6, "the policy's multiplier applied");
        assert.equal(cost("loose"), cost("no-policy"), "a file others can write is no policy");
      } finally {
        await removeTree(root);
      }
    });
    await removeTree(home);
  },
});

Deno.test("8. install --hash-salt - reads the salt from stdin; with --url - as well it refuses, changing nothing", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-sec-home-" });
  try {
    const url = "https://telemhq.example/ping/SECRET_salt_test";
    const env = { HOME: home, PATH: "/usr/bin:/bin" };
    const both = await cli("bun", ["install", "--url", "-", "--hash-salt", "-"], { env, stdin: `${url}\nsalt\n` });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^Cannot install: --url - and --hash-salt - both want standard input/);
    assert.deepEqual(listState(`${home}/.claude`), [], "nothing written");
    const install = await cli("bun", ["install", "--url", url, "--hash-salt", "-", "--claude-version", "2.1.332"], {
      env,
      stdin: "team-salt-42\n",
    });
    assert.equal(install.code, 0, install.stderr);
    const saved = JSON.parse(Deno.readTextFileSync(`${home}/.claude/telemhq/config.json`));
    assert.equal(saved.hash_salt, "team-salt-42");
    assert.ok(!install.stdout.includes("team-salt-42") && !install.stderr.includes("team-salt-42"));
  } finally {
    await removeTree(home);
  }
});

/** A repository holding code that would run if a runtime read its configuration: it leaves a marker with its argv. */
function hostileRepository(): string {
  const repo = Deno.makeTempDirSync({ prefix: "telemhq-sec-repo-" });
  Deno.mkdirSync(`${repo}/.git`);
  const steal = `require("fs").appendFileSync("${repo}/stolen", process.argv.join(" ") + "\\n");\n`;
  Deno.writeTextFileSync(`${repo}/.pwn.cjs`, steal);
  Deno.writeTextFileSync(`${repo}/bunfig.toml`, 'preload = ["./.pwn.cjs"]\n');
  Deno.writeTextFileSync(`${repo}/deno.json`, '{"imports": {"node:fs": "./.pwn.cjs"}}\n');
  Deno.writeTextFileSync(`${repo}/package.json`, '{"type": "commonjs"}\n');
  for (const program of ["setsid", "perl", "cat", "realpath", "bun", "deno", "node"]) {
    Deno.writeTextFileSync(`${repo}/${program}`, `#!/bin/sh\necho "${program} $*" >> "${repo}/stolen"\n`, {
      mode: 0o755,
    });
  }
  return repo;
}

Deno.test("1, 5. a repository's bunfig.toml, programs on a relative PATH and code-loading variables never run in the hook or its sender", async () => {
  await withReceivers(1, async ([receiver]) => {
    const repo = hostileRepository();
    const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-sec-state-" });
    try {
      // The attack works on a runtime started without the launcher's care: the test can tell.
      const naive = await runProcess([runtimeBinary("bun"), HOOK_PATH, "--help"], { cwd: repo });
      assert.equal(naive.code, 0);
      assert.ok(
        Deno.readTextFileSync(`${repo}/stolen`).includes("--help"),
        "bunfig.toml's preload runs in a plain bun",
      );
      Deno.removeSync(`${repo}/stolen`);
      const node24 = `${ROOT}tools/node_modules/node-24/bin/node`;
      for (const [index, kind] of (["bun", "deno", "node"] as const).entries()) {
        const binary = kind === "node" ? node24 : runtimeBinary(kind);
        const command = launcherCommand(`${ROOT}hooks/telemhq.sh`, launcherArgs(kind, binary, HOOK_PATH));
        const run = await runProcess(["/bin/sh", "-c", command], {
          cwd: repo,
          // An empty PATH entry (the repository) before a folder without setsid or perl, as on a Mac.
          env: testEnv(stateDir, {
            PATH: `${Deno.makeTempDirSync()}::`,
            HOME: stateDir,
            TELEMHQ_PING_URL: receiver.url,
            NODE_OPTIONS: `--require ${repo}/.pwn.cjs`,
            BUN_OPTIONS: `--preload ${repo}/.pwn.cjs`,
          }),
          stdin: JSON.stringify({ hook_event_name: "PostToolUse", session_id: kind, tool_use_id: `t${index}` }),
        });
        assert.equal(run.code, 0, run.stderr);
        await receiver.waitFor(index + 1);
        assert.equal(JSON.parse(receiver.requests[index].body).session_id, kind);
      }
      // Each ping was spooled by a hook and delivered by a sender it started: both had their chance to load code.
      await waitUntil(() => !listState(stateDir).includes(STATE_LAYOUT.lock), "the senders to leave");
      assert.ok(!pathExists(`${repo}/stolen`), `the repository's code ran: ${readIfAny(`${repo}/stolen`)}`);
    } finally {
      await removeTree(repo);
      await removeTree(stateDir);
    }
  });
});

function readIfAny(path: string): string {
  return pathExists(path) ? Deno.readTextFileSync(path) : "";
}

Deno.test("1. doctor and its test ping, run from a repository through the launcher, load nothing the repository holds", async () => {
  await withReceivers(1, async ([receiver]) => {
    const repo = hostileRepository();
    const home = Deno.makeTempDirSync({ prefix: "telemhq-sec-home-" });
    try {
      const bin = `${home}/bin`;
      Deno.mkdirSync(bin);
      Deno.symlinkSync(runtimeBinary("bun"), `${bin}/bun`);
      const env = { HOME: home, PATH: `${bin}:/usr/bin:/bin`, BUN_OPTIONS: `--preload ${repo}/.pwn.cjs` };
      const install = await runProcess([
        runtimeBinary("bun"),
        "--config=/dev/null",
        HOOK_PATH,
        "install",
        "--url",
        receiver.url,
      ], {
        env: { HOME: home, PATH: env.PATH },
      });
      assert.equal(install.code, 0, install.stderr);
      for (const args of [["doctor", "--ping"], ["log"], ["flush"], ["--help"]]) {
        const run = await runProcess(["/bin/sh", `${home}/.claude/hooks/telemhq.sh`, ...args], { cwd: repo, env });
        assert.ok(run.code === 0, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
      }
      assert.equal(JSON.parse(receiver.requests.at(-1)!.body).event, "DoctorPing");
      assert.ok(!pathExists(`${repo}/stolen`), readIfAny(`${repo}/stolen`));
    } finally {
      await removeTree(repo);
      await removeTree(home);
    }
  });
});

Deno.test("9. the launcher and hook.ts start each runtime the same way: one source of truth, checked", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-sec-home-" });
  try {
    // Claude Code's folder kept elsewhere (dotfiles): Deno's read permission needs the real folder too.
    Deno.mkdirSync(`${home}/dotfiles/claude/projects`, { recursive: true });
    Deno.symlinkSync(`${home}/dotfiles/claude`, `${home}/.claude`);
    const url = "https://telemhq.example/ping/T";
    const env = { HOME: home, PATH: "/usr/bin:/bin", TELEMHQ_PING_URL: url };
    const stateDir = `${home}/.claude/telemhq`;
    for (const kind of ["bun", "deno"] as const) {
      const binary = runtimeBinary(kind);
      const printed = await runProcess(
        ["/bin/sh", `${ROOT}hooks/telemhq.sh`, ...launcherArgs(kind, binary, HOOK_PATH), "--print-argv"],
        { env },
      );
      const narrow = {
        pingHost: "telemhq.example",
        claudeDir: `${home}/.claude`,
        projectsDir: `${home}/dotfiles/claude/projects`,
      };
      // Deno checks --allow-run against its real path: both resolve it.
      const expected = hookArgv(
        kind,
        kind === "deno" ? Deno.realPathSync(binary) : binary,
        HOOK_PATH,
        stateDir,
        narrow,
      );
      assert.deepEqual(printed.stdout.trim().split("\n"), expected, `${kind}: the launcher and hookArgv() differ`);
    }
    // The plugin's hooks/telemhq.sh is the launcher install writes, byte for byte.
    assert.equal(Deno.readTextFileSync(`${ROOT}hooks/telemhq.sh`), launcherScript());
    // The curl installer drops the same variables.
    const installer = Deno.readTextFileSync(`${ROOT}scripts/install.sh`);
    assert.match(installer, new RegExp(`^  unset ${UNSAFE_ENV_NAMES.join(" ")}$`, "m"));
    // And so does the PowerShell installer.
    const powershell = Deno.readTextFileSync(`${ROOT}scripts/install.ps1`);
    const listed = powershell.match(/\$UnsafeEnvNames = @\(([^)]*)\)/)?.[1].match(/"[A-Z_]+"/g)?.map((name) =>
      name.slice(1, -1)
    );
    assert.deepEqual(listed, [...UNSAFE_ENV_NAMES]);
  } finally {
    await removeTree(home);
  }
});

Deno.test("8. the runtime is recorded by the path PATH names: an upgrade keeps the hook running, and a removed one is replaced and named by doctor", async () => {
  await withReceivers(1, async ([receiver]) => {
    const home = Deno.makeTempDirSync({ prefix: "telemhq-sec-home-" });
    try {
      // Homebrew's layout: bin/bun is a link into a versioned folder an upgrade replaces.
      const cellar = (version: string) => `${home}/homebrew/Cellar/bun/${version}/bin`;
      Deno.mkdirSync(cellar("1.4.5"), { recursive: true });
      Deno.copyFileSync(runtimeBinary("bun"), `${cellar("1.4.5")}/bun`);
      Deno.chmodSync(`${cellar("1.4.5")}/bun`, 0o755);
      Deno.mkdirSync(`${home}/homebrew/bin`);
      Deno.symlinkSync(`${cellar("1.4.5")}/bun`, `${home}/homebrew/bin/bun`);
      const env = { HOME: home, PATH: `${home}/homebrew/bin:/usr/bin:/bin` };
      const install = await runProcess(
        [`${home}/homebrew/bin/bun`, "--config=/dev/null", HOOK_PATH, "install", "--url", receiver.url],
        { env },
      );
      assert.equal(install.code, 0, install.stderr);
      const record = JSON.parse(Deno.readTextFileSync(`${home}/.claude/telemhq/install.json`));
      assert.equal(record.runtime_path, `${home}/homebrew/bin/bun`, "the link PATH names, not its target");
      const command = JSON.parse(Deno.readTextFileSync(`${home}/.claude/settings.json`)).hooks.Stop[0].hooks[0].command;
      const turn = (id: string) =>
        runProcess(["/bin/sh", "-c", command], {
          env,
          stdin: JSON.stringify({ hook_event_name: "Stop", session_id: id }),
        });
      // The upgrade: the old version's folder goes, the link points at the new one.
      Deno.mkdirSync(cellar("1.4.6"), { recursive: true });
      Deno.renameSync(`${cellar("1.4.5")}/bun`, `${cellar("1.4.6")}/bun`);
      Deno.removeSync(`${home}/homebrew/Cellar/bun/1.4.5`, { recursive: true });
      Deno.removeSync(`${home}/homebrew/bin/bun`);
      Deno.symlinkSync(`${cellar("1.4.6")}/bun`, `${home}/homebrew/bin/bun`);
      assert.equal((await turn("after-upgrade")).code, 0);
      await receiver.waitFor(1);
      // Bun removed altogether: the launcher finds another runtime on PATH, and doctor says so.
      Deno.removeSync(`${home}/homebrew`, { recursive: true });
      const withDeno = { ...env, PATH: `${Deno.makeTempDirSync()}:/usr/bin:/bin` };
      Deno.symlinkSync(runtimeBinary("deno"), `${withDeno.PATH.split(":")[0]}/deno`);
      const fallback = await runProcess(["/bin/sh", "-c", command], {
        env: withDeno,
        stdin: JSON.stringify({ hook_event_name: "Stop", session_id: "after-removal" }),
      });
      assert.equal(fallback.code, 0);
      await receiver.waitFor(2);
      const pings = receiver.requests.map((request) => JSON.parse(request.body));
      assert.deepEqual(pings.map((ping) => ping.session_id), ["after-upgrade", "after-removal"]);
      assert.match(pings[1].runtime, /^deno\//);
      const doctor = await runProcess(["/bin/sh", `${home}/.claude/hooks/telemhq.sh`, "doctor"], { env: withDeno });
      assert.match(
        doctor.stdout,
        /PROBLEM {2}The runtime install recorded, .*homebrew\/bin\/bun, is gone; the hook runs under \S+deno/,
      );
    } finally {
      await removeTree(home);
    }
  });
});

Deno.test("8. one event, one ping_id: the same SessionEnd handed to two hooks a second apart gets one id", async () => {
  const event = { hook_event_name: "SessionEnd", session_id: "s", prompt_id: "p9", reason: "other" };
  const first = await buildPayload(event, { fallbackCwd: "/", runtime: "bun/1", occurredAt: new Date(1_000) });
  const second = await buildPayload(event, { fallbackCwd: "/", runtime: "bun/1", occurredAt: new Date(2_500) });
  assert.equal(first.ping_id, second.ping_id);
  const resumed = await buildPayload({ ...event, prompt_id: "p10" }, { fallbackCwd: "/", runtime: "bun/1" });
  assert.notEqual(resumed.ping_id, first.ping_id, "a resumed session that ends again is another event");
  // Older Claude Code sends no prompt_id: without it the second the event came in tells two endings apart.
  const { prompt_id: _, ...old } = event;
  const january = await buildPayload(old, { fallbackCwd: "/", runtime: "bun/1", occurredAt: new Date(1_000) });
  const march = await buildPayload(old, { fallbackCwd: "/", runtime: "bun/1", occurredAt: new Date(5_000_000_000) });
  assert.notEqual(january.ping_id, march.ping_id);
});

Deno.test("8. a session whose only turn failed still reports it: SessionEnd says 1 turn, nothing spent", async () => {
  await withReceivers(1, async ([receiver]) => {
    const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-sec-state-" });
    try {
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url });
      const failure = {
        hook_event_name: "StopFailure",
        session_id: "failed-only",
        prompt_id: "p1",
        error: "rate_limit",
      };
      assert.equal((await runHook("bun", JSON.stringify(failure), env)).code, 0);
      await receiver.waitFor(1);
      const end = { hook_event_name: "SessionEnd", session_id: "failed-only", prompt_id: "p1", reason: "other" };
      assert.equal((await runHook("bun", JSON.stringify(end), env)).code, 0);
      await receiver.waitFor(2);
      const ending = JSON.parse(receiver.requests[1].body);
      assert.equal(ending.event, "SessionEnd");
      assert.equal(ending.session_turns, 1);
      assert.equal(ending.session_total_tokens, 0);
      assert.equal(ending.session_cost_usd, 0);
    } finally {
      await removeTree(stateDir);
    }
  });
});

Deno.test("review: the launcher refuses words it does not know, and under TELEMHQ_HOOK_DEBUG=1 lets the hook's line through", async () => {
  const env = {
    HOME: Deno.makeTempDirSync({ prefix: "telemhq-sec-home-" }),
    PATH: `${ROOT}tools/node_modules/.bin:/usr/bin:/bin`,
  };
  try {
    const unknown = await runProcess(["/bin/sh", `${ROOT}hooks/telemhq.sh`, "statuss"], { env });
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /^telemhq\.sh: unknown command "statuss": run telemhq\.sh --help for the commands\.\n$/,
    );
    const quiet = await runProcess(["/bin/sh", `${ROOT}hooks/telemhq.sh`], { env, stdin: "not json" });
    assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [0, "", ""]);
    const debug = await runProcess(["/bin/sh", `${ROOT}hooks/telemhq.sh`], {
      env: { ...env, TELEMHQ_HOOK_DEBUG: "1", TELEMHQ_PING_URL: "https://telemhq.example/ping/T" },
      stdin: "not json",
    });
    assert.equal(debug.code, 0);
    // The hook runs detached: its line arrives once it has read the event.
    assert.match(debug.stderr, /^TelemHQ hook: stdin is not valid JSON: event ignored\n$/);
  } finally {
    await removeTree(env.HOME);
  }
});

Deno.test("review: uninstall while the plugin is enabled keeps the state folder the plugin uses", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-sec-home-" });
  try {
    const env = { HOME: home, PATH: "/usr/bin:/bin" };
    const bun = [runtimeBinary("bun"), "--config=/dev/null", HOOK_PATH];
    assert.equal((await runProcess([...bun, "install", "--url", "https://telemhq.example/ping/T"], { env })).code, 0);
    Deno.writeTextFileSync(`${home}/.claude/telemhq/delivered.jsonl`, "", { mode: 0o600 });
    const settings = JSON.parse(Deno.readTextFileSync(`${home}/.claude/settings.json`));
    settings.enabledPlugins = { "telemhq@telemhq": true };
    Deno.writeTextFileSync(`${home}/.claude/settings.json`, JSON.stringify(settings));
    const uninstall = await runProcess([...bun, "uninstall"], { env });
    assert.equal(uninstall.code, 0, uninstall.stderr);
    assert.match(uninstall.stdout, /kept the rest of .*telemhq: the TelemHQ plugin \(telemhq@telemhq\) is enabled/);
    assert.deepEqual(
      listState(`${home}/.claude/telemhq`),
      ["delivered.jsonl"],
      "the saved URL went, the plugin's log stayed",
    );
    assert.ok(!pathExists(`${home}/.claude/hooks`));
  } finally {
    await removeTree(home);
  }
});

Deno.test("review: with no usable PATH at all, the launcher still never takes a repository's file for the hook", async () => {
  await withReceivers(1, async ([receiver]) => {
    const repo = hostileRepository();
    const home = Deno.makeTempDirSync({ prefix: "telemhq-sec-home-" });
    try {
      // A runtime found without PATH (where its installer puts it), and a "hook" planted in the repository.
      Deno.mkdirSync(`${home}/.bun/bin`, { recursive: true });
      Deno.symlinkSync(runtimeBinary("bun"), `${home}/.bun/bin/bun`);
      for (const name of ["telemhq.ts", "hook.ts"]) {
        Deno.writeTextFileSync(`${repo}/${name}`, `require("fs").writeFileSync("${repo}/stolen", "${name}");\n`);
      }
      const run = await runProcess(["/bin/sh", `${ROOT}hooks/telemhq.sh`], {
        cwd: repo,
        env: testEnv(`${home}/state`, { HOME: home, PATH: ".", TELEMHQ_PING_URL: receiver.url }),
        stdin: JSON.stringify({ hook_event_name: "PostToolUse", session_id: "nopath", tool_use_id: "t1" }),
      });
      assert.equal(run.code, 0);
      await receiver.waitFor(1);
      assert.equal(JSON.parse(receiver.requests[0].body).session_id, "nopath", "the real hook ran");
      assert.ok(!pathExists(`${repo}/stolen`), readIfAny(`${repo}/stolen`));
    } finally {
      await removeTree(repo);
      await removeTree(home);
    }
  });
});

Deno.test("review: one tracker asking to wait an hour holds back only its own pings", async () => {
  const slow = await startReceiver(() => ({ status: 429, headers: { "retry-after": "3600" } }));
  await withReceivers(1, async ([fast]) => {
    const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-sec-state-" });
    try {
      const tool = (id: string) => JSON.stringify({ hook_event_name: "PostToolUse", session_id: id, tool_use_id: id });
      const slowEnv = testEnv(stateDir, { TELEMHQ_PING_URL: slow.url, TELEMHQ_SENDER_IDLE_MS: "8000" });
      assert.equal((await runHook("bun", tool("slow"), slowEnv)).code, 0);
      await slow.waitFor(1);
      const fastEnv = testEnv(stateDir, { TELEMHQ_PING_URL: fast.url });
      for (let index = 0; index < 3; index++) {
        assert.equal((await runHook("bun", tool(`fast-${index}`), fastEnv)).code, 0);
      }
      // The first session's sender, told to wait an hour by its tracker, delivers the other tracker's pings now.
      await fast.waitFor(3, 10_000);
      assert.equal(slow.requests.length, 1, "the waiting tracker got nothing more");
      assert.ok(listState(stateDir).includes(STATE_LAYOUT.lock), "by the sender already running");
    } finally {
      await removeTree(stateDir);
    }
  });
  await slow.close();
});

Deno.test("review: a ping whose destination file appears a moment later is still delivered by the running sender", async () => {
  await withReceivers(2, async ([first, late]) => {
    const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-sec-state-" });
    try {
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: first.url, TELEMHQ_SENDER_IDLE_MS: "6000" });
      const tool = (id: string) => JSON.stringify({ hook_event_name: "PostToolUse", session_id: id, tool_use_id: id });
      assert.equal((await runHook("bun", tool("first"), env)).code, 0);
      await first.waitFor(1);
      // A hook descheduled between its spool entry and its destination file: the sender sees the entry first.
      const payload = await buildPayload(
        { hook_event_name: "PostToolUse", session_id: "late", tool_use_id: "late" },
        { fallbackCwd: "/", runtime: "bun/1.4.5" },
      );
      const id = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`destination\u0000${late.url}`));
      const hex = [...new Uint8Array(id)].map((byte) => byte.toString(16).padStart(2, "0")).join("").slice(0, 32);
      const entry = { v: 2, payload, to: hex, created_at: Date.now(), attempts: 0, next_at: 0 };
      Deno.writeTextFileSync(`${stateDir}/spool/${payload.ping_id}.json`, JSON.stringify(entry), { mode: 0o600 });
      await waitUntil(
        () => JSON.parse(readIfAny(`${stateDir}/status.json`) || "{}").last_error !== undefined,
        "a pass",
      );
      Deno.mkdirSync(`${stateDir}/destinations`, { recursive: true, mode: 0o700 });
      Deno.writeTextFileSync(`${stateDir}/destinations/${hex}.json`, JSON.stringify({ url: late.url }), {
        mode: 0o600,
      });
      await late.waitFor(1, 10_000);
      assert.equal(JSON.parse(late.requests[0].body).session_id, "late");
    } finally {
      await removeTree(stateDir);
    }
  });
});

for (const runtime of ["bun", "deno"] as const) {
  Deno.test(`review: a destination file left empty by a crash is written again by the next event (${runtime}), and its pings go out`, async () => {
    await withReceivers(1, async ([receiver]) => {
      const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-sec-state-" });
      try {
        // No sender at first (it would deliver the first ping before the file is damaged): a long idle one later.
        const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_SENDER_IDLE_MS: "6000" });
        const tool = (id: string) =>
          JSON.stringify({ hook_event_name: "PostToolUse", session_id: id, tool_use_id: id });
        assert.equal((await runHook(runtime, tool("first"), env)).code, 0);
        await receiver.waitFor(1);
        const [name] = listState(stateDir, STATE_LAYOUT.destinations);
        assert.ok(name, "the first event wrote its destination file");
        const path = `${stateDir}/${STATE_LAYOUT.destinations}/${name}`;
        // A crash between the file's creation and its write: empty, as the hook created it (0600).
        Deno.writeTextFileSync(path, "");
        assert.equal((await runHook(runtime, tool("second"), env)).code, 0);
        await receiver.waitFor(2, 10_000);
        assert.equal(JSON.parse(receiver.requests[1].body).session_id, "second");
        assert.equal(JSON.parse(Deno.readTextFileSync(path)).url, receiver.url);
        assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
      } finally {
        await removeTree(stateDir);
      }
    });
  });
}

Deno.test("review: a directory planted where a destination file goes makes the hook send its ping directly, not leave it waiting", async () => {
  await withReceivers(1, async ([receiver]) => {
    const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-sec-state-" });
    try {
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_SENDER_IDLE_MS: "0" });
      const tool = (id: string) => JSON.stringify({ hook_event_name: "PostToolUse", session_id: id, tool_use_id: id });
      assert.equal((await runHook("bun", tool("first"), env)).code, 0);
      await receiver.waitFor(1);
      await waitUntil(() => listState(stateDir, STATE_LAYOUT.destinations).length === 0, "the URL to go");
      const hex = await destinationHex(receiver.url);
      Deno.mkdirSync(`${stateDir}/${STATE_LAYOUT.destinations}/${hex}.json/inside`, { recursive: true });
      assert.equal((await runHook("bun", tool("second"), env)).code, 0);
      await receiver.waitFor(2, 10_000);
      assert.equal(JSON.parse(receiver.requests[1].body).session_id, "second");
      assert.deepEqual(
        listState(stateDir, STATE_LAYOUT.spool),
        [],
        "nothing left waiting for a tracker it cannot name",
      );
    } finally {
      await removeTree(stateDir);
    }
  });
});

/** A destination's id, as the hook names its file: the first 32 hex digits of SHA-256("destination\0" + URL). */
async function destinationHex(url: string): Promise<string> {
  const id = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`destination\u0000${url}`));
  return [...new Uint8Array(id)].map((byte) => byte.toString(16).padStart(2, "0")).join("").slice(0, 32);
}

Deno.test("review: flush exits 1 while a ping is held mid-send with no sender left, and log escapes every field", async () => {
  await withReceivers(1, async ([receiver]) => {
    const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-sec-state-" });
    try {
      Deno.mkdirSync(`${stateDir}/spool`, { mode: 0o700 });
      const payload = await buildPayload(
        { hook_event_name: "PostToolUse", session_id: "held", tool_use_id: "t1" },
        { fallbackCwd: "/", runtime: "bun/1.4.5" },
      );
      const entry = { v: 2, payload, created_at: Date.now(), attempts: 0, next_at: 0 };
      Deno.writeTextFileSync(`${stateDir}/spool/${payload.ping_id}.json.sending-gone`, JSON.stringify(entry));
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url });
      const flush = await cli("bun", ["flush"], { env });
      assert.equal(flush.code, 1, flush.stdout);
      assert.match(flush.stdout, /1 ping is stuck mid-send/);
      Deno.writeTextFileSync(
        `${stateDir}/${STATE_LAYOUT.journal}`,
        JSON.stringify({ delivered_at: "2026\u001b]0;owned\u0007", status: 200, body: "{}" }) + "\n",
        { mode: 0o600 },
      );
      const log = await cli("bun", ["log"], { env });
      assert.doesNotMatch(log.stdout, TERMINAL_CONTROLS);
    } finally {
      await removeTree(stateDir);
    }
  });
});

Deno.test("review: a Deno hook that cannot start its sender lets go of the lock it claimed and delivers the ping itself", async () => {
  await withReceivers(1, async ([receiver]) => {
    const home = Deno.makeTempDirSync({ prefix: "telemhq-sec-home-" });
    try {
      // Deno by a link, and nothing on PATH to resolve it: the sender's --allow-run cannot name Deno's real path.
      const bin = `${home}/bin`;
      Deno.mkdirSync(bin);
      Deno.symlinkSync(runtimeBinary("deno"), `${bin}/deno`);
      for (const tool of ["cat", "setsid"]) Deno.symlinkSync(`/usr/bin/${tool}`, `${bin}/${tool}`);
      const run = await runProcess(["/bin/sh", `${ROOT}hooks/telemhq.sh`], {
        env: testEnv(`${home}/state`, { HOME: home, PATH: bin, TELEMHQ_PING_URL: receiver.url }),
        stdin: JSON.stringify({ hook_event_name: "PostToolUse", session_id: "self", tool_use_id: "t1" }),
      });
      assert.equal(run.code, 0);
      await receiver.waitFor(1);
      assert.equal(JSON.parse(receiver.requests[0].body).session_id, "self");
      await waitUntil(() => listState(`${home}/state`, "spool").length === 0, "an empty spool");
    } finally {
      await removeTree(home);
    }
  });
});

Deno.test("8. the same event handed to a second hook after its ping was sent (both routes wired) is not sent again", async () => {
  await withReceivers(1, async ([receiver]) => {
    const stateDir = Deno.makeTempDirSync({ prefix: "telemhq-sec-state-" });
    try {
      const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url });
      const end = JSON.stringify({
        hook_event_name: "SessionEnd",
        session_id: "twice",
        prompt_id: "p1",
        reason: "other",
      });
      assert.equal((await runHook("bun", end, env)).code, 0);
      await receiver.waitFor(1);
      // The second route's hook, seconds later: its ping is gone from the spool, but marked as sent.
      assert.equal((await runHook("deno", end, env)).code, 0);
      const other = JSON.stringify({ hook_event_name: "PostToolUse", session_id: "twice", tool_use_id: "after" });
      assert.equal((await runHook("bun", other, env)).code, 0);
      await receiver.waitFor(2);
      await waitUntil(() => listState(stateDir, "spool").length === 0, "an empty spool");
      assert.deepEqual(receiver.requests.map((request) => JSON.parse(request.body).event), [
        "SessionEnd",
        "PostToolUse",
      ]);
    } finally {
      await removeTree(stateDir);
    }
  });
});

// The third round: a version manager's shim (mise, asdf) picks its program by the folder it runs in, and a
// command line is every local user's to read.

/** A folder of programs for PATH, and a log folder they write to; both removed afterwards. */
function programFolder(): { bin: string; log: string; dir: string } {
  const dir = Deno.makeTempDirSync({ prefix: "telemhq-sec-bin-" });
  Deno.mkdirSync(`${dir}/bin`);
  Deno.mkdirSync(`${dir}/log`);
  return { bin: `${dir}/bin`, log: `${dir}/log`, dir };
}

function writeProgram(path: string, script: string): void {
  Deno.writeTextFileSync(path, `#!/bin/sh\n${script}`);
  Deno.chmodSync(path, 0o755);
}

Deno.test("11. a node shim asked for its version runs from /, and the project folder never reaches a command line", async () => {
  const { bin, log, dir } = programFolder();
  const repo = Deno.makeTempDirSync({ prefix: "telemhq-sec-repo-secret-client-" });
  try {
    // Like mise's shim: which program runs depends on the folder it is started in.
    writeProgram(
      `${bin}/node`,
      `if [ "$1" = --version ]; then printf '%s\\n' "$PWD" >> '${log}/version-cwd'; echo v22.99.0; exit 0; fi
printf '%s\\n' "$@" > '${log}/argv.tmp'; printf '%s' "\${TELEMHQ_EVENT_DIR:-}" > '${log}/event-dir'
mv '${log}/argv.tmp' '${log}/argv'`,
    );
    const run = await runProcess(["/bin/sh", `${ROOT}hooks/telemhq.sh`], {
      cwd: repo,
      env: { PATH: `${bin}:/bin`, HOME: dir },
      stdin: JSON.stringify({ hook_event_name: "Stop", session_id: "shim" }),
    });
    assert.equal(run.code, 0, run.stderr);
    await waitUntil(() => pathExists(`${log}/argv`), "the hook to start under the shim");
    assert.deepEqual(Deno.readTextFileSync(`${log}/version-cwd`).trim().split("\n"), ["/"]);
    const argv = Deno.readTextFileSync(`${log}/argv`);
    assert.ok(!argv.includes(repo), `the project folder is on the command line: ${argv}`);
    assert.match(argv, /--detached/);
    assert.equal(Deno.readTextFileSync(`${log}/event-dir`), repo, "the hook learns its folder from the environment");
  } finally {
    await removeTree(dir);
    await removeTree(repo);
  }
});

Deno.test("12. Deno behind a version manager's shim still delivers, run as the shim and not as the manager", async () => {
  const { bin, dir } = programFolder();
  await withReceivers(1, async ([receiver]) => {
    try {
      // Like mise: one program, linked as each tool's shim, that acts by the name it is called by.
      Deno.mkdirSync(`${dir}/manager`);
      writeProgram(
        `${dir}/manager/mise`,
        `case \${0##*/} in deno) exec '${runtimeBinary("deno")}' "$@" ;; *) echo "mise: no tasks" >&2; exit 1 ;; esac`,
      );
      Deno.symlinkSync(`${dir}/manager/mise`, `${bin}/deno`);
      const env = testEnv(`${dir}/state`, { PATH: `${bin}:/usr/bin:/bin`, HOME: dir, TELEMHQ_PING_URL: receiver.url });
      const argv = await runProcess(["/bin/sh", `${ROOT}hooks/telemhq.sh`, "--print-argv"], { env });
      assert.equal(argv.stdout.split("\n")[0], `${bin}/deno`, argv.stdout);
      const run = await runProcess(["/bin/sh", `${ROOT}hooks/telemhq.sh`], {
        env,
        stdin: JSON.stringify({ hook_event_name: "Stop", session_id: "mise-deno" }),
      });
      assert.equal(run.code, 0, run.stderr);
      await receiver.waitFor(1);
      assert.equal(JSON.parse(receiver.requests[0].body).session_id, "mise-deno");
      await waitUntil(() => !listState(`${dir}/state`).includes(STATE_LAYOUT.lock), "the sender to leave");
    } finally {
      await removeTree(dir);
    }
  });
});

Deno.test("13. a command typed in a repository starts its runtime from /, then works in that repository", async () => {
  const { bin, log, dir } = programFolder();
  const repo = Deno.makeTempDirSync({ prefix: "telemhq-sec-repo-" });
  try {
    Deno.mkdirSync(`${repo}/.git`);
    // A shim that records the folder it is started in, then runs the real Node.
    writeProgram(
      `${bin}/node`,
      `printf '%s\\n' "$PWD" >> '${log}/cwd'\nexec '${ROOT}tools/node_modules/node-24/bin/node' "$@"`,
    );
    // Installed for that Node (doctor then asks the recorded runtime its version), from the repository.
    const install = await runProcess(
      [runtimeBinary("bun"), HOOK_PATH, "install", "--url", "https://telemhq.com/ping/T0K3N", "--runtime", "node"],
      { cwd: repo, env: { PATH: `${bin}:/bin`, HOME: dir } },
    );
    assert.equal(install.code, 0, install.stdout + install.stderr);
    const run = await runProcess(["/bin/sh", `${dir}/.claude/hooks/telemhq.sh`, "doctor"], {
      cwd: repo,
      env: { PATH: `${bin}:/bin`, HOME: dir },
    });
    assert.match(run.stdout, new RegExp(`Project settings are read from ${repo}, its repository's root`), run.stderr);
    const folders = Deno.readTextFileSync(`${log}/cwd`).trim().split("\n");
    assert.ok(folders.length >= 2, "asked for its version, then run");
    assert.deepEqual([...new Set(folders)], ["/"], "never started in the repository");
  } finally {
    await removeTree(dir);
    await removeTree(repo);
  }
});
