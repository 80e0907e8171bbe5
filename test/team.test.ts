// A team's rollout: the plugin enabled by an organisation's policy (a real managed settings file, in a private
// mount namespace as root, so the machine's /etc never changes) or by the member, its ping URL in the member's
// credential store or in the policy; each member's doctor says it works, and proves it with a test ping.
import assert from "node:assert/strict";
import { POLICY_HOOK_COMMAND } from "../mod.ts";
import { startAnthropicStandIn } from "../scripts/_anthropic_standin.ts";
import { newSession, runClaude } from "../scripts/_claude.ts";
import {
  HOOK_PATH,
  pathExists,
  pinnedClaudeBinary,
  type ProcessRun,
  type Receiver,
  removeTree,
  ROOT,
  runProcess,
  runtimeBinary,
  startReceiver,
} from "./_helpers.ts";

const AS_ROOT = Deno.uid() === 0;
const LAUNCHER = `${ROOT}hooks/telemhq.sh`;
const PATH = `${ROOT}tools/node_modules/.bin:/usr/bin:/bin`;

async function withReceiver(body: (receiver: Receiver) => Promise<void>): Promise<void> {
  const receiver = await startReceiver();
  try {
    await body(receiver);
  } finally {
    await receiver.close();
  }
}

/** Runs a script as root in a private mount namespace whose /etc is an overlay: `policy` is its managed settings. */
async function withPolicy(policy: string, script: string, env: Record<string, string>): Promise<ProcessRun> {
  const root = Deno.makeTempDirSync({ prefix: "telemhq-team-etc-" });
  try {
    Deno.writeTextFileSync(`${root}/policy.json`, policy);
    for (const name of ["u", "w", "m"]) Deno.mkdirSync(`${root}/${name}`);
    return await runProcess([
      "/usr/bin/unshare",
      "-m",
      "/bin/sh",
      "-c",
      `set -eu
mount -t overlay overlay -o lowerdir=/etc,upperdir='${root}/u',workdir='${root}/w' '${root}/m'
mount --bind '${root}/m' /etc
mkdir -p /etc/claude-code
cp '${root}/policy.json' /etc/claude-code/managed-settings.json
${script}`,
    ], { env, cwd: "/" });
  } finally {
    await removeTree(root);
  }
}

Deno.test({
  name: "doctor on a machine whose policy enables the plugin with a shared URL: it names the policy, pings, exits 0",
  ignore: !AS_ROOT,
  fn: async () => {
    await withReceiver(async (receiver) => {
      const home = Deno.makeTempDirSync({ prefix: "telemhq-team-home-" });
      try {
        const policy = JSON.stringify({
          enabledPlugins: { "telemhq@acme": true },
          pluginConfigs: { "telemhq@acme": { options: { ping_url: receiver.url } } },
        });
        // A hidden drop-in, which Claude Code skips: so does doctor.
        const hidden = `mkdir -p /etc/claude-code/managed-settings.d
printf '%s' '{"enabledPlugins": {"telemhq@hidden": true}}' > /etc/claude-code/managed-settings.d/.hidden.json`;
        const run = await withPolicy(policy, `${hidden}\nexec /bin/sh '${LAUNCHER}' doctor --ping`, {
          HOME: home,
          PATH,
        });
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.match(
          run.stdout,
          /enabled by your organisation's policy \(\/etc\/claude-code\/managed-settings\.json\)/,
        );
        assert.match(run.stdout, /the plugin's ping_url option, from your organisation's policy/);
        assert.match(run.stdout, /Test ping accepted: .* marked event "DoctorPing"/);
        assert.doesNotMatch(run.stdout, /telemhq@hidden/);
        assert.equal(JSON.parse(receiver.requests[0].body).event, "DoctorPing");
        const token = new URL(receiver.url).pathname.split("/").pop()!;
        assert.ok(!(run.stdout + run.stderr).includes(token), "the token is never printed");
      } finally {
        await removeTree(home);
      }
    });
  },
});

Deno.test({
  name: "doctor reports a broken or hostile managed settings file, escaped, and does not crash",
  ignore: !AS_ROOT,
  fn: async () => {
    const home = Deno.makeTempDirSync({ prefix: "telemhq-team-home-" });
    try {
      const hostile = '{"enabledPlugins": {"telemhq@acme": true},\n "x": "\u001b]0;pwned\u0007\u202e", oops}';
      const run = await withPolicy(hostile, `exec /bin/sh '${LAUNCHER}' doctor`, { HOME: home, PATH });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        /PROBLEM +Cannot read settings file "\/etc\/claude-code\/managed-settings\.json": not valid JSON at line 2/,
      );
      // deno-lint-ignore no-control-regex -- the characters looked for
      assert.doesNotMatch(run.stdout + run.stderr, /[\u001b\u0007\u202e]/);
      assert.match(run.stdout, /have it fixed before you install anything/, "doctor does not send anyone to install");
      // A policy that cannot be read may run the hook already: install refuses rather than add a second route.
      const install = await withPolicy(
        hostile,
        `exec '${runtimeBinary("bun")}' '${HOOK_PATH}' install --url https://telemhq.com/ping/T0K3N`,
        { HOME: home, PATH },
      );
      assert.equal(install.code, 1, install.stdout + install.stderr);
      assert.match(
        install.stderr,
        /^Cannot install: the managed settings file "\/etc\/claude-code\/managed-settings\.json" cannot be read/,
      );
      assert.ok(!pathExists(`${home}/.claude/settings.json`), "nothing changed");
    } finally {
      await removeTree(home);
    }
  },
});

Deno.test("doctor and status for a member who enabled the plugin and keeps its URL in the credential store", async () => {
  await withReceiver(async (receiver) => {
    const home = Deno.makeTempDirSync({ prefix: "telemhq-team-home-" });
    try {
      Deno.mkdirSync(`${home}/.claude`);
      Deno.writeTextFileSync(
        `${home}/.claude/settings.json`,
        JSON.stringify({ enabledPlugins: { "telemhq@telemhq": true } }),
      );
      Deno.writeTextFileSync(
        `${home}/.claude/.credentials.json`,
        JSON.stringify({ pluginSecrets: { "telemhq@telemhq": { ping_url: receiver.url } } }),
        { mode: 0o600 },
      );
      const doctor = await runProcess(["/bin/sh", LAUNCHER, "doctor", "--ping"], {
        env: { HOME: home, PATH },
        cwd: "/",
      });
      assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
      assert.match(doctor.stdout, /ok +The TelemHQ plugin \(telemhq@telemhq\) is enabled\./);
      assert.match(doctor.stdout, /from your credential store/);
      assert.doesNotMatch(doctor.stdout, /run install/i, "a plugin user is never sent to install a second route");
      assert.equal(receiver.requests.length, 1);
      const status = await runProcess(["/bin/sh", LAUNCHER, "status"], { env: { HOME: home, PATH }, cwd: "/" });
      assert.equal(status.code, 0, status.stdout + status.stderr);
      assert.match(status.stdout, /state directory .* does not exist|0 pings waiting/);
      const unknown = await runProcess(["/bin/sh", LAUNCHER, "frobnicate"], { env: { HOME: home, PATH } });
      assert.equal(unknown.code, 2);
      assert.equal(unknown.stderr.trim().split("\n").length, 1, unknown.stderr);
    } finally {
      await removeTree(home);
    }
  });
});

/**
 * The argv prefix that runs a program as root in a private mount namespace whose /etc holds `policy` as its managed
 * settings (an overlay: the machine's /etc never changes); the program and its arguments follow.
 */
function underPolicy(root: string, policy: string): string[] {
  Deno.writeTextFileSync(`${root}/policy.json`, policy);
  for (const name of ["u", "w", "m"]) Deno.mkdirSync(`${root}/${name}`, { recursive: true });
  const script = `set -eu
mount -t overlay overlay -o lowerdir=/etc,upperdir='${root}/u',workdir='${root}/w' '${root}/m'
mount --bind '${root}/m' /etc
mkdir -p /etc/claude-code
cp '${root}/policy.json' /etc/claude-code/managed-settings.json
exec "$@"`;
  return ["/usr/bin/unshare", "-m", "/bin/sh", "-c", script, "sh"];
}

Deno.test({
  name: "a policy printed by install --plugin: two members' real turns reach each one's tracker, and doctor says so",
  ignore: !AS_ROOT,
  fn: async () => {
    const api = await startAnthropicStandIn();
    const receivers = await Promise.all([startReceiver(), startReceiver()]);
    const sessions = [newSession(), newSession()];
    const root = Deno.makeTempDirSync({ prefix: "telemhq-team-policy-" });
    try {
      const printed = await runProcess(
        [runtimeBinary("bun"), HOOK_PATH, "install", "--scope", "managed", "--plugin", "--marketplace", ROOT],
        { env: { HOME: root } },
      );
      assert.equal(printed.code, 0, printed.stderr);
      const prefix = underPolicy(root, printed.stdout);
      for (const [index, session] of sessions.entries()) {
        // Each member did nothing but give their URL (and one their label) to Claude Code.
        const values = JSON.stringify({ ping_url: receivers[index].url, ...(index === 0 ? { member: "ana" } : {}) });
        const configure = await runProcess(
          [...prefix, pinnedClaudeBinary(), "plugin", "configure", "telemhq@telemhq", "--values-stdin"],
          { env: { HOME: session.home, PATH }, stdin: values, cwd: session.cwd, timeoutMs: 120_000 },
        );
        assert.equal(configure.code, 0, configure.stdout + configure.stderr);
        Deno.writeTextFileSync(session.settings, "{}");
        const turn = await runClaude(session, {
          prompt: "please SCENARIO:plain SECRET_PROMPT do it",
          apiUrl: api.url,
          binary: [...prefix, pinnedClaudeBinary()],
          path: PATH,
        });
        assert.equal(turn.code, 0, turn.stdout + turn.stderr);
        await receivers[index].waitFor(1, 30_000);
        const doctor = await runProcess([...prefix, "/bin/sh", LAUNCHER, "doctor"], {
          env: { HOME: session.home, PATH },
        });
        assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
        assert.match(doctor.stdout, /enabled by your organisation's policy/);
        assert.match(doctor.stdout, /from your credential store/);
      }
      await Promise.all(receivers.map((receiver) => receiver.waitFor(2, 30_000)));
      for (const [index, receiver] of receivers.entries()) {
        const pings = receiver.requests.map((request) => JSON.parse(request.body));
        const stop = pings.find((ping) => ping.event === "Stop");
        assert.ok(stop !== undefined && stop.total_tokens > 0 && stop.cost_usd > 0, JSON.stringify(pings));
        assert.deepEqual(new Set(pings.map((ping) => ping.member)), new Set([index === 0 ? "ana" : undefined]));
        const others = receivers[1 - index].requests.map((request) => JSON.parse(request.body).session_id);
        assert.ok(pings.every((ping) => !others.includes(ping.session_id)), "nothing of one member in the other's");
        assert.ok(receiver.requests.every((request) => !request.body.includes("SECRET_")));
      }
    } finally {
      await Promise.all([api.close(), ...receivers.map((receiver) => receiver.close())]);
      for (const session of sessions) await removeTree(session.home);
      await removeTree(root);
    }
  },
});

Deno.test({
  name: "a policy with one shared URL: a member who did nothing delivers a real turn, and doctor finds the URL in it",
  ignore: !AS_ROOT,
  fn: async () => {
    const api = await startAnthropicStandIn();
    const receiver = await startReceiver();
    const session = newSession();
    const root = Deno.makeTempDirSync({ prefix: "telemhq-team-policy-" });
    try {
      // Written by install --write as this machine's drop-in (the organisation's own file stays as it was).
      const prefix = underPolicy(root, "{}");
      const write = ["install", "--scope", "managed", "--plugin", "--marketplace", ROOT, "--url", "-", "--write"];
      const written = await runProcess([...prefix, runtimeBinary("bun"), HOOK_PATH, ...write], {
        env: { HOME: root },
        stdin: `${receiver.url}\n`,
      });
      assert.equal(written.code, 0, written.stdout + written.stderr);
      assert.match(written.stdout, /^Wrote the policy to \/etc\/claude-code\/managed-settings\.d\/telemhq\.json/);
      assert.match(written.stderr, /a file every user of each machine can read/);
      assert.equal(Deno.statSync(`${root}/u/claude-code/managed-settings.d/telemhq.json`).mode! & 0o777, 0o644);
      Deno.writeTextFileSync(session.settings, "{}");
      const turn = await runClaude(session, {
        prompt: "please SCENARIO:plain SECRET_PROMPT do it",
        apiUrl: api.url,
        binary: [...prefix, pinnedClaudeBinary()],
        path: PATH,
      });
      assert.equal(turn.code, 0, turn.stdout + turn.stderr);
      await receiver.waitFor(2, 30_000);
      const stop = receiver.requests.map((request) => JSON.parse(request.body)).find((ping) => ping.event === "Stop");
      assert.ok(stop?.total_tokens > 0, "the Stop ping carries the turn's tokens");
      const doctor = await runProcess([...prefix, "/bin/sh", LAUNCHER, "doctor"], {
        env: { HOME: session.home, PATH },
      });
      assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
      assert.match(doctor.stdout, /the plugin's ping_url option, from your organisation's policy/);
    } finally {
      await Promise.all([api.close(), receiver.close()]);
      await removeTree(session.home);
      await removeTree(root);
    }
  },
});

Deno.test("install --plugin refuses a marketplace source Claude Code would not take, or a fleet too old, with one line", async () => {
  for (
    const [args, message] of [
      [["--marketplace", "./plugins"], /relative path/],
      [["--marketplace", "http://git.acme.com/plugins.git"], /give an https:\/\/ URL/],
      [["--marketplace", "https://acme.com/plugins"], /neither a git repository .* nor a marketplace\.json/],
      [["--marketplace", "acme/plugins#bad ref"], /spaces or control characters/],
      [["--marketplace", "https://user:pw@git.acme.com/p.git"], /credentials/],
      [["--claude-version", "2.0.77"], /needs Claude Code 2\.1\.78 or later/],
      [["--url", "ftp://telemhq.com/ping/T"], /unsupported scheme/],
      [["--url", "https://telemhq.com/ping/"], /holds no tracking token/],
      [["--marketplace", "acme/plugins#../main"], /not a git ref/],
    ] as const
  ) {
    const run = await runProcess([
      runtimeBinary("bun"),
      HOOK_PATH,
      "install",
      "--scope",
      "managed",
      "--plugin",
      ...args,
    ]);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
    assert.equal(run.stdout, "", "no policy printed");
    assert.match(run.stderr, message);
    assert.equal(run.stderr.trim().split("\n").length, 1);
  }
  const github = await runProcess([runtimeBinary("bun"), HOOK_PATH, "install", "--scope", "managed", "--plugin"]);
  assert.deepEqual(JSON.parse(github.stdout).extraKnownMarketplaces.telemhq.source, {
    source: "github",
    repo: "telemhq/claude-code",
  });
  const git = await runProcess([
    runtimeBinary("bun"),
    HOOK_PATH,
    "install",
    "--scope",
    "managed",
    "--plugin",
    "--marketplace",
    "https://git.acme.com/tools/plugins.git#v2",
  ]);
  assert.deepEqual(JSON.parse(git.stdout).extraKnownMarketplaces.telemhq.source, {
    source: "git",
    url: "https://git.acme.com/tools/plugins.git",
    ref: "v2",
  });
});

Deno.test({
  name:
    "the settings route's policy holds no one's path: two members install once, and their real turns reach their trackers",
  ignore: !AS_ROOT,
  fn: async () => {
    const api = await startAnthropicStandIn();
    const receivers = await Promise.all([startReceiver(), startReceiver()]);
    const sessions = [newSession(), newSession()];
    const root = Deno.makeTempDirSync({ prefix: "telemhq-team-policy-" });
    try {
      const printed = await runProcess(
        [runtimeBinary("bun"), HOOK_PATH, "install", "--scope", "managed", "--claude-version", "2.1.332"],
        { env: { HOME: root } },
      );
      assert.equal(printed.code, 0, printed.stderr);
      assert.ok(!printed.stdout.includes(root), "no path of the lead's machine");
      const prefix = underPolicy(root, printed.stdout);
      for (const [index, session] of sessions.entries()) {
        const install = await runProcess(
          [
            ...prefix,
            runtimeBinary("bun"),
            HOOK_PATH,
            "install",
            "--url",
            "-",
            ...(index === 0 ? ["--member", "ana"] : []),
          ],
          { env: { HOME: session.home, PATH }, stdin: `${receivers[index].url}\n` },
        );
        assert.equal(install.code, 0, install.stdout + install.stderr);
        assert.match(install.stdout, /settings: +none changed: your organisation's policy \(\/etc\/claude-code/);
        assert.ok(!pathExists(`${session.home}/.claude/settings.json`), "the member's own settings are untouched");
        Deno.writeTextFileSync(session.settings, "{}");
        const turn = await runClaude(session, {
          prompt: "please SCENARIO:plain SECRET_PROMPT do it",
          apiUrl: api.url,
          binary: [...prefix, pinnedClaudeBinary()],
          path: PATH,
        });
        assert.equal(turn.code, 0, turn.stdout + turn.stderr);
        await receivers[index].waitFor(2, 30_000);
        const doctor = await runProcess([...prefix, "/bin/sh", `${session.home}/.claude/hooks/telemhq.sh`, "doctor"], {
          env: { HOME: session.home, PATH },
        });
        assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
        assert.match(doctor.stdout, /ok +Stop runs the hook \(\/etc\/claude-code\/managed-settings\.json\)/);
        if (index === 1) {
          // Uninstalling under the policy would leave every event failing: the launcher the policy runs stays.
          const uninstall = await runProcess([...prefix, runtimeBinary("bun"), HOOK_PATH, "uninstall"], {
            env: { HOME: session.home, PATH },
          });
          assert.equal(uninstall.code, 0, uninstall.stdout + uninstall.stderr);
          assert.match(
            uninstall.stdout,
            /Kept the hook file and the saved ping URL: \/etc\/claude-code\/managed-settings\.json still runs the hook/,
          );
          assert.ok(pathExists(`${session.home}/.claude/hooks/telemhq.sh`));
        }
      }
      for (const [index, receiver] of receivers.entries()) {
        const pings = receiver.requests.map((request) => JSON.parse(request.body));
        const stop = pings.find((ping) => ping.event === "Stop");
        assert.ok(stop !== undefined && stop.total_tokens > 0 && stop.cost_usd > 0, JSON.stringify(pings));
        assert.deepEqual(new Set(pings.map((ping) => ping.member)), new Set([index === 0 ? "ana" : undefined]));
        const others = receivers[1 - index].requests.map((request) => JSON.parse(request.body).session_id);
        assert.ok(pings.every((ping) => !others.includes(ping.session_id)), "nothing of one member in the other's");
      }
    } finally {
      await Promise.all([api.close(), ...receivers.map((receiver) => receiver.close())]);
      for (const session of sessions) await removeTree(session.home);
      await removeTree(root);
    }
  },
});

Deno.test("the settings policy's command does nothing, quietly, for a user who has not installed yet", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-team-home-" });
  try {
    const command = POLICY_HOOK_COMMAND;
    const before = await runProcess(["/bin/sh", "-c", command], { env: { HOME: home }, stdin: "{}" });
    assert.deepEqual(
      [before.code, before.stdout, before.stderr],
      [0, "", ""],
      "no launcher: exit 0, no blocking error",
    );
    // Once installed, it runs the user's own launcher.
    Deno.mkdirSync(`${home}/.claude/hooks`, { recursive: true });
    Deno.writeTextFileSync(`${home}/.claude/hooks/telemhq.sh`, `printf ran > '${home}/ran'\n`);
    const after = await runProcess(["/bin/sh", "-c", command], { env: { HOME: home }, stdin: "{}" });
    assert.equal(after.code, 0, after.stderr);
    assert.equal(Deno.readTextFileSync(`${home}/ran`), "ran");
  } finally {
    await removeTree(home);
  }
});

Deno.test({
  name: "install --write replaces only its own drop-in: another file of that name is refused, and nothing changes",
  ignore: !AS_ROOT,
  fn: async () => {
    const root = Deno.makeTempDirSync({ prefix: "telemhq-team-policy-" });
    try {
      const prefix = underPolicy(root, "{}");
      const write = [runtimeBinary("bun"), HOOK_PATH, "install", "--scope", "managed", "--write"];
      const first = await runProcess([...prefix, ...write], { env: { HOME: root } });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const again = await runProcess([...prefix, ...write, "--tool-activity"], { env: { HOME: root } });
      assert.equal(again.code, 0, "its own drop-in is replaced");
      const dropIn = `${root}/u/claude-code/managed-settings.d/telemhq.json`;
      assert.ok(JSON.parse(Deno.readTextFileSync(dropIn)).hooks.PostToolUse !== undefined);
      const foreign = '{"env": {"HTTPS_PROXY": "http://proxy.acme:3128"}}\n';
      Deno.writeTextFileSync(dropIn, foreign);
      const refused = await runProcess([...prefix, ...write], { env: { HOME: root } });
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      assert.match(
        refused.stderr,
        /^Cannot write the policy: ".*telemhq\.json" exists and is not a policy install wrote/,
      );
      assert.equal(refused.stderr.trim().split("\n").length, 1);
      assert.equal(Deno.readTextFileSync(dropIn), foreign, "nothing changed");
    } finally {
      await removeTree(root);
    }
  },
});
