// install, uninstall and doctor, run as people run them: a real Deno or Bun
// process in a throwaway HOME, against real settings files.
import assert from "node:assert/strict";
import {
  HOOK_PATH,
  NEWEST_FIXTURES,
  pathExists,
  pathWithClaude,
  type ProcessRun,
  removeTree,
  ROOT,
  runProcess,
  runtimeBinary,
  type RuntimeName,
  RUNTIMES,
  startReceiver,
  waitUntil,
} from "./_helpers.ts";

/** A settings file as people have them: other hooks, a $schema, other keys, odd formatting. */
const REAL_WORLD_SETTINGS = `{
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "model": "opus",
    "hooks": {
        "Stop": [ { "hooks": [ { "type": "command", "command": "notify-send done" } ] } ],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh"}]}]
    },
    "permissions": {"allow": ["Bash(ls:*)"]}
}
`;

/** Runs `hook.ts <args>` under a runtime, in `cwd`, with only HOME and PATH set. */
function hookCli(runtime: RuntimeName, home: string, args: string[], cwd = home): Promise<ProcessRun> {
  const command = runtime === "deno"
    ? [runtimeBinary("deno"), "run", "-A", HOOK_PATH]
    : [runtimeBinary("bun"), HOOK_PATH];
  return runProcess([...command, ...args], { cwd, env: { HOME: home, PATH: pathWithClaude() } });
}

/** Every file under a folder with its bytes: to show that a refused command changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (path: string) => {
    for (const entry of Deno.readDirSync(path)) {
      const full = `${path}/${entry.name}`;
      if (entry.isDirectory) walk(full);
      else files[full] = Deno.readTextFileSync(full);
    }
  };
  walk(dir);
  return files;
}

/** A throwaway HOME with a project folder, removed after the test. */
async function withHome(body: (home: string, project: string) => Promise<void>): Promise<void> {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-install-home-" });
  const project = `${home}/work/api`;
  Deno.mkdirSync(`${project}/.git`, { recursive: true }); // a repository: project settings go to its root
  try {
    await body(home, project);
  } finally {
    await removeTree(home);
  }
}

function commandsIn(settingsPath: string, event: string): string[] {
  const settings = JSON.parse(Deno.readTextFileSync(settingsPath));
  return (settings.hooks?.[event] ?? []).flatMap((group: { hooks: { command: string }[] }) =>
    group.hooks.map((hook) => hook.command)
  );
}

const TOKEN = "SECRET_TOKEN_install_7f3a";

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: install merges into a real-world settings file, keeps the rest, and a second run changes no byte`, async () => {
    await withHome(async (home) => {
      const settingsPath = `${home}/.claude/settings.json`;
      Deno.mkdirSync(`${home}/.claude`);
      Deno.writeTextFileSync(settingsPath, REAL_WORLD_SETTINGS);
      const url = `https://telemhq.example/ping/${TOKEN}`;
      const first = await hookCli(runtime, home, ["install", "--url", url, "--tool-activity"]);
      assert.equal(first.code, 0, first.stderr);
      assert.ok(!first.stdout.includes(TOKEN) && !first.stderr.includes(TOKEN), "the token is never printed");
      const once = Deno.readTextFileSync(settingsPath);
      const settings = JSON.parse(once);
      assert.deepEqual(Object.keys(settings), ["$schema", "model", "hooks", "permissions"], "key order kept");
      assert.equal(settings.model, "opus");
      assert.deepEqual(settings.permissions, { allow: ["Bash(ls:*)"] });
      assert.deepEqual(Object.keys(settings.hooks), [
        "Stop",
        "PreToolUse",
        "StopFailure",
        "SubagentStop",
        "SessionEnd",
        "PostToolUse",
        "PostToolUseFailure",
      ]);
      assert.deepEqual(commandsIn(settingsPath, "PreToolUse"), ["./guard.sh"]);
      const stop = commandsIn(settingsPath, "Stop");
      assert.equal(stop.length, 2);
      assert.equal(stop[0], "notify-send done");
      assert.match(
        stop[1],
        /^trap '' TERM HUP; exec \/bin\/sh \S+\/\.claude\/hooks\/telemhq\.sh --(deno|bun) \S+ --hook \S+\/\.claude\/hooks\/telemhq\.ts/,
      );
      assert.ok(!once.includes(TOKEN), "the token is not in settings.json");
      assert.equal(settings.hooks.PostToolUse[0].matcher, "Bash|Edit|MultiEdit|Write");
      assert.equal(once.split("\n")[1].match(/^ */)?.[0].length, 4, "the file's own indentation");
      assert.equal(
        Deno.readTextFileSync(`${settingsPath}.telemhq-backup`),
        REAL_WORLD_SETTINGS,
        "a backup of the original",
      );
      const config = `${home}/.claude/telemhq/config.json`;
      assert.equal(JSON.parse(Deno.readTextFileSync(config)).ping_url, url);
      assert.equal(Deno.statSync(config).mode! & 0o777, 0o600);
      assert.equal(Deno.statSync(`${home}/.claude/hooks`).mode! & 0o777, 0o700);
      assert.equal(Deno.readTextFileSync(`${home}/.claude/hooks/telemhq.ts`), Deno.readTextFileSync(HOOK_PATH));
      const second = await hookCli(runtime, home, ["install", "--url", url, "--tool-activity"]);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(Deno.readTextFileSync(settingsPath), once, "running it twice is running it once");
    });
  });

  Deno.test(`${runtime}: the installed command delivers a ping, with its usage, under the permissions install chose`, async () => {
    await withHome(async (home, project) => {
      const receiver = await startReceiver();
      try {
        const run = await hookCli(runtime, home, ["install", "--url", receiver.url], project);
        assert.equal(run.code, 0, run.stderr);
        // A recorded session, as if Claude Code had written it in this HOME.
        const projects = `${home}/.claude/projects`;
        Deno.mkdirSync(projects, { recursive: true });
        const recorded = `${NEWEST_FIXTURES}/tools/home/.claude/projects/-home-dev-projects-api`;
        const [transcript] = [...Deno.readDirSync(recorded)].filter((entry) => entry.name.endsWith(".jsonl"));
        Deno.copyFileSync(`${recorded}/${transcript.name}`, `${projects}/${transcript.name}`);
        const stop = Deno.readTextFileSync(`${NEWEST_FIXTURES}/tools/events.jsonl`).split("\n")
          .find((line) => line.includes('"hook_event_name":"Stop"'))!
          .replace(/"transcript_path":"[^"]+"/, `"transcript_path":"${projects}/${transcript.name}"`);
        const [command] = commandsIn(`${home}/.claude/settings.json`, "Stop");
        const child = new Deno.Command("/bin/sh", {
          args: ["-c", command],
          cwd: project,
          clearEnv: true,
          env: { HOME: home, PATH: "/usr/bin:/bin", TELEMHQ_SENDER_IDLE_MS: "200" },
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(stop));
        await writer.close();
        const output = await child.output();
        assert.equal(output.code, 0);
        assert.equal(output.stdout.length + output.stderr.length, 0);
        await receiver.waitFor(1);
        const ping = JSON.parse(receiver.requests[0].body);
        assert.equal(ping.event, "Stop");
        assert.equal(ping.output_tokens, 42, "the sender could read the transcript");
        assert.equal(ping.cost_usd, 0.004464);
        await waitUntil(() => {
          try {
            Deno.statSync(`${home}/.claude/telemhq/sender.lock`);
            return false;
          } catch {
            return true;
          }
        }, "the sender to leave");
      } finally {
        await receiver.close();
      }
    });
  });
}

Deno.test("install --scope project keeps the token out of the repository; local and managed go where they belong", async () => {
  await withHome(async (home, project) => {
    const url = `https://telemhq.example/ping/${TOKEN}`;
    // A shared file is read by teammates' Claude Codes: without --claude-version, only what every one knows.
    const cautious = await hookCli("bun", home, ["install", "--url", url, "--scope", "project"], project);
    assert.equal(cautious.code, 0);
    assert.match(cautious.stdout, /unknown for a file others share \(give --claude-version/);
    assert.equal(commandsIn(`${project}/.claude/settings.json`, "StopFailure").length, 0);
    const team = ["install", "--url", url, "--scope", "project", "--claude-version", "2.1.332"];
    assert.equal((await hookCli("bun", home, team, project)).code, 0);
    const shared = Deno.readTextFileSync(`${project}/.claude/settings.json`);
    assert.ok(!shared.includes(TOKEN), "project settings are committed: no token there");
    assert.equal(commandsIn(`${project}/.claude/settings.json`, "StopFailure").length, 1);
    assert.equal((await hookCli("bun", home, ["install", "--url", url, "--scope", "local"], project)).code, 0);
    assert.equal(commandsIn(`${project}/.claude/settings.local.json`, "Stop").length, 1);
    // A shared URL has no place in a settings policy (its env reaches every command Claude Code runs).
    const sharedUrl = await hookCli("bun", home, ["install", "--url", url, "--scope", "managed"], project);
    assert.equal(sharedUrl.code, 2);
    assert.match(sharedUrl.stderr, /^Cannot print the policy: a shared URL goes only with the plugin route/);
    const ancient = await hookCli("bun", home, ["install", "--scope", "managed", "--claude-version", "1.0.0"], project);
    assert.equal(ancient.code, 2);
    assert.match(ancient.stderr, /^Cannot print the policy: Claude Code 1\.0\.0 runs no hooks/);
    const managed = await hookCli("bun", home, ["install", "--scope", "managed"], project);
    assert.equal(managed.code, 0);
    assert.ok(!managed.stdout.includes(home), "no path of this user in a policy for everyone");
    assert.equal(JSON.parse(managed.stdout).hooks.Stop.length, 1, "the policy is printed");
    assert.ok(!managed.stdout.includes(TOKEN));
    assert.throws(() => Deno.statSync(`${home}/.claude/settings.json`), "managed writes no user settings");
  });
});

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: the launcher install writes runs doctor, status and uninstall under the runtime install used, when none is on PATH`, async () => {
    await withHome(async (home, project) => {
      // Bun or Deno started by their absolute path (npx deno, a download in a folder of its own): not on PATH,
      // where the launcher looks when it is given no runtime. Only the machine's Node 20 is, too old for hook.ts.
      const url = `https://telemhq.example/ping/${TOKEN}`;
      const install = await hookCli(runtime, home, ["install", "--url", url], project);
      assert.equal(install.code, 0, install.stderr);
      const launcher = `${home}/.claude/hooks/telemhq.sh`;
      const typed = (args: string[]) =>
        runProcess(["/bin/sh", launcher, ...args], { cwd: project, env: { HOME: home, PATH: pathWithClaude() } });
      const doctor = await typed(["doctor"]);
      assert.doesNotMatch(doctor.stderr + doctor.stdout, /TelemHQ: no runtime/);
      assert.match(doctor.stdout, /The launcher|Runtime /, doctor.stdout);
      assert.doesNotMatch(
        doctor.stdout,
        /launcher .* is missing or not this version's/,
        "its own launcher is this version's",
      );
      const status = await typed(["status"]);
      assert.equal(status.code, 0, status.stderr);
      const uninstall = await typed(["uninstall"]);
      assert.equal(uninstall.code, 0, uninstall.stderr);
      assert.ok(!pathExists(`${home}/.claude/hooks/telemhq.ts`), "uninstall ran: the hook file is gone");
    });
  });
}

Deno.test({
  name: "install refuses a runtime another user could swap, and the launcher runs none of another's in /tmp",
  ignore: Deno.uid() !== 0, // making a folder of another user's takes root
  async fn() {
    await withHome(async (home, project) => {
      const url = `https://telemhq.example/ping/${TOKEN}`;
      const theirs = `${home}/theirs/bin`;
      Deno.mkdirSync(theirs, { recursive: true });
      Deno.symlinkSync(runtimeBinary("bun"), `${theirs}/bun`);
      Deno.chownSync(`${home}/theirs`, 4242, 4242);
      const open = `${home}/open/bin`;
      Deno.mkdirSync(open, { recursive: true });
      Deno.chmodSync(open, 0o777);
      Deno.symlinkSync(runtimeBinary("bun"), `${open}/bun`);
      for (const [bin, why] of [[theirs, /belongs to another user/], [open, /is writable by every user/]] as const) {
        const run = await runProcess([`${bin}/bun`, HOOK_PATH, "install", "--url", url], {
          cwd: project,
          env: { HOME: home, PATH: `${bin}:${pathWithClaude()}` },
        });
        assert.equal(run.code, 1, run.stdout);
        assert.match(run.stderr, why);
        assert.ok(!pathExists(`${home}/.claude/settings.json`), "nothing written");
      }
      // A program in /tmp that is not this user's: a folder of ours there, cleaned and made again by someone else.
      const tmp = Deno.makeTempDirSync({ dir: "/tmp", prefix: "telemhq-theirs-" });
      try {
        const marker = `${tmp}/ran`;
        Deno.writeTextFileSync(`${tmp}/bun`, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
        Deno.chownSync(`${tmp}/bun`, 4242, 4242);
        const launcher = `${ROOT}hooks/telemhq.sh`;
        const run = await runProcess(["/bin/sh", launcher, "--bun", `${tmp}/bun`, "status"], {
          cwd: project,
          env: { HOME: home, PATH: pathWithClaude() },
        });
        assert.ok(!pathExists(marker), `the launcher ran another user's program: ${run.stderr}`);
      } finally {
        Deno.removeSync(tmp, { recursive: true });
      }
    });
  },
});

Deno.test("install and doctor warn when the runtime lives in npx's cache, which npm cleans", async () => {
  await withHome(async (home, project) => {
    // What `npx deno@2 run -A hook.ts install` looks like to the hook: Deno on PATH from npx's folder.
    const bin = `${home}/.npm/_npx/7a40be787520bede/node_modules/.bin`;
    Deno.mkdirSync(bin, { recursive: true });
    Deno.symlinkSync(runtimeBinary("deno"), `${bin}/deno`);
    const env = { HOME: home, PATH: `${bin}:${pathWithClaude()}` };
    const install = await runProcess(
      [`${bin}/deno`, "run", "-A", HOOK_PATH, "install", "--url", `https://telemhq.example/ping/${TOKEN}`],
      { cwd: project, env },
    );
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /^Warning: the runtime .*_npx.* lives in npx's or bunx's cache .* --runtime node/m);
    const doctor = await runProcess(["/bin/sh", `${home}/.claude/hooks/telemhq.sh`, "doctor"], { cwd: project, env });
    assert.match(doctor.stdout, /^note +But the runtime .*_npx.* lives in npx's or bunx's cache/m, doctor.stdout);
  });
});

Deno.test("uninstall removes exactly what install added; the hook file goes with the last scope", async () => {
  await withHome(async (home, project) => {
    const settingsPath = `${home}/.claude/settings.json`;
    Deno.mkdirSync(`${home}/.claude`);
    Deno.writeTextFileSync(settingsPath, REAL_WORLD_SETTINGS);
    const url = `https://telemhq.example/ping/${TOKEN}`;
    assert.equal((await hookCli("bun", home, ["install", "--url", url, "--tool-activity"], project)).code, 0);
    assert.equal((await hookCli("bun", home, ["install", "--url", url, "--scope", "project"], project)).code, 0);
    const user = await hookCli("bun", home, ["uninstall"], project);
    assert.equal(user.code, 0, user.stderr);
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(settingsPath)), JSON.parse(REAL_WORLD_SETTINGS));
    assert.match(
      user.stdout,
      /Kept the hook file and the saved ping URL: .*\.claude\/settings\.json still runs the hook/,
    );
    assert.ok(Deno.statSync(`${home}/.claude/hooks/telemhq.ts`).isFile);
    const last = await hookCli("bun", home, ["uninstall", "--scope", "project"], project);
    assert.equal(last.code, 0, last.stderr);
    assert.throws(() => Deno.statSync(`${home}/.claude/hooks/telemhq.ts`));
    assert.throws(() => Deno.statSync(`${home}/.claude/telemhq/config.json`));
    assert.ok(!pathExists(`${project}/.claude/settings.json`), "install created it; uninstall takes it away");
    assert.ok(!pathExists(`${project}/.claude/settings.json.telemhq-backup`), "and leaves no backup of it");
  });
});

Deno.test("broken settings, a bad flag or a bad URL: a clear one-line error, and nothing changes", async () => {
  await withHome(async (home) => {
    Deno.mkdirSync(`${home}/.claude`);
    Deno.writeTextFileSync(`${home}/.claude/settings.json`, '{\n  "model": "opus",\n  "hooks": {,}\n}\n');
    const before = snapshot(`${home}/.claude`);
    const cases: [string[], number, RegExp][] = [
      [
        ["install", "--url", "https://telemhq.example/ping/T"],
        1,
        /^Cannot read settings file ".*settings\.json": not valid JSON at line 3\. Fix it/,
      ],
      [
        ["install", "--url", `http://telemhq.example/ping/${TOKEN}`],
        2,
        /^Cannot install: .*plain http to telemhq\.example.*use https\.\n$/,
      ],
      [["install", "--url", "not a url"], 2, /^Cannot install: the ping URL is not a valid URL/],
      // A comma would also widen the Deno hook's --allow-net list to a second host.
      [
        ["install", "--url", "https://telemhq.example,evil.example/ping/T"],
        2,
        /^Cannot install: the ping URL has a host name with characters a host cannot have/,
      ],
      [["install", "--url", "https://telemhq.example/ping/T", "--claude-version", "latest"], 2, /--claude-version/],
      [
        ["install", "--url", "https://telemhq.example/ping/T", "--scope", "team"],
        2,
        /^Cannot install: unknown scope "team"/,
      ],
      [
        ["install", "--url", "https://telemhq.example/ping/T", "--runtime", "python"],
        2,
        /^Cannot install: runtime "python" is not supported\. Use --runtime deno, bun or node\./,
      ],
      [["install", "--colour"], 2, /^Unknown option "--colour"/],
      [["install"], 2, /^Cannot install: no ping URL/],
      [["uninstall"], 1, /^Cannot read settings file/],
      [["doctor", "--fix"], 2, /^Unknown option "--fix"/],
    ];
    for (const [args, code, message] of cases) {
      const run = await hookCli("deno", home, args);
      assert.equal(run.code, code, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(" "));
      assert.equal(run.stderr.trimEnd().split("\n").length, 1, "one line");
      assert.ok(!run.stderr.includes(TOKEN));
      assert.deepEqual(snapshot(`${home}/.claude`), before, `${args.join(" ")} changed nothing`);
    }
  });
});

Deno.test("--help shows every command; COMMAND --help shows that command's own help; nothing is written", async () => {
  await withHome(async (home) => {
    const all = await hookCli("bun", home, ["--help"]);
    assert.equal(all.code, 0);
    assert.match(all.stdout, /^TelemHQ hook for Claude Code \d+\.\d+\.\d+\n\nUsage:/);
    for (const command of ["install", "uninstall", "doctor", "flush", "log", "command"]) {
      assert.match(all.stdout, new RegExp(`hook\\.ts ${command}`), command);
      for (const flag of ["--help", "-h"]) {
        const run = await hookCli("bun", home, [command, flag]);
        assert.equal(run.code, 0, `${command} ${flag}`);
        assert.match(run.stdout, new RegExp(`^Usage: hook\\.ts ${command}\\b`), `${command} ${flag}`);
      }
    }
    assert.match((await hookCli("bun", home, ["install", "--help"])).stdout, /--url - and\nthe URL on standard input/);
    assert.ok(!pathExists(`${home}/.claude`), "nothing was written");
  });
});

Deno.test("doctor: all good after install, the answer to --ping, and each problem named", async () => {
  await withHome(async (home, project) => {
    const receiver = await startReceiver();
    try {
      assert.equal((await hookCli("bun", home, ["install", "--url", receiver.url], project)).code, 0);
      const healthy = await hookCli("bun", home, ["doctor", "--ping"], project);
      assert.equal(healthy.code, 0, healthy.stdout);
      assert.match(healthy.stdout, /ok {7}Ping URL http:\/\/127\.0\.0\.1:\d+\/<redacted> \(from config file\)/);
      assert.match(healthy.stdout, /ok {7}Runtime .*bun.* runs the hook \(1\.\d/);
      assert.match(healthy.stdout, /ok {7}Test ping accepted: .* answered HTTP 200/);
      assert.match(healthy.stdout, /All good\.\n$/);
      assert.equal(receiver.requests.length, 1);
      assert.ok(!healthy.stdout.includes(receiver.token));
      const test = JSON.parse(receiver.requests[0].body);
      assert.equal(test.event, "DoctorPing");
      assert.notEqual(test.project, project.split("/").pop(), "a test ping names no real project");
      // The same command wired in the project too: Claude Code runs identical commands once.
      assert.equal(
        (await hookCli("bun", home, ["install", "--url", receiver.url, "--scope", "project"], project)).code,
        0,
      );
      const same = await hookCli("bun", home, ["doctor"], project);
      assert.match(same.stdout, /ok {7}Stop runs the hook once \(the same command in /);
      // Another command in the project: Claude Code would run both.
      const projectSettings = `${project}/.claude/settings.json`;
      Deno.writeTextFileSync(
        projectSettings,
        Deno.readTextFileSync(projectSettings).replaceAll('telemhq.ts"', 'telemhq.ts  "'),
      );
      Deno.removeSync(`${home}/.claude/hooks/telemhq.ts`);
      const sick = await hookCli("bun", home, ["doctor"], project);
      assert.equal(sick.code, 1);
      assert.match(sick.stdout, /PROBLEM {2}Stop runs the hook 2 times, with different commands/);
      assert.match(
        sick.stdout,
        /PROBLEM {2}.*settings\.json runs the hook on Stop with another command than install wrote/,
      );
      assert.match(sick.stdout, /PROBLEM {2}Hook file .* is missing: run install again/);
      assert.match(sick.stdout, /\d problems found\.\n$/);
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("node: install for Node writes the hook as JavaScript, so Node 24 strips no types per event and Node 20 runs it", async () => {
  await withHome(async (home, project) => {
    const receiver = await startReceiver();
    try {
      const turn = async (id: string) => {
        const [command] = commandsIn(`${home}/.claude/settings.json`, "Stop");
        const run = await runProcess(["/bin/sh", "-c", command], {
          cwd: project,
          env: { HOME: home },
          stdin: JSON.stringify({ hook_event_name: "Stop", session_id: id, cwd: project }),
        });
        assert.equal(run.code, 0);
      };
      const node = `${ROOT}tools/node_modules/node-24/bin/node`;
      const install = await runProcess([node, HOOK_PATH, "install", "--url", receiver.url], {
        cwd: project,
        env: { HOME: home },
      });
      assert.equal(install.code, 0, install.stderr);
      assert.match(
        install.stdout,
        /hook: +.*\/\.claude\/hooks\/telemhq\.mjs, started by .*\/\.claude\/hooks\/telemhq\.sh\n/,
      );
      assert.equal(
        Deno.readTextFileSync(`${home}/.claude/hooks/telemhq.mjs`),
        Deno.readTextFileSync(`${ROOT}hook.mjs`),
        "the same JavaScript the build makes",
      );
      await turn("s-node24");
      await receiver.waitFor(1);
      assert.match(JSON.parse(receiver.requests[0].body).runtime, /^node\/24\./);
      // Deno strips the types itself: the machine's Node 20 then runs the hook.
      const deno = await hookCli("deno", home, ["install", "--url", receiver.url, "--runtime", "node"], project);
      assert.equal(deno.code, 0, deno.stderr);
      await turn("s-node20");
      await receiver.waitFor(2);
      assert.match(JSON.parse(receiver.requests[1].body).runtime, /^node\/20\./);
      // Bun cannot strip types, nor can Node 20: refused, with what to do instead, and nothing changed.
      const settings = Deno.readTextFileSync(`${home}/.claude/settings.json`);
      const bun = await hookCli("bun", home, ["install", "--url", receiver.url, "--runtime", "node"], project);
      assert.equal(bun.code, 1);
      assert.match(bun.stderr, /^Cannot install for Node: neither bun\/\S+ nor \S+ can turn hook\.ts into JavaScript/);
      assert.equal(Deno.readTextFileSync(`${home}/.claude/settings.json`), settings);
    } finally {
      await receiver.close();
    }
  });
});
