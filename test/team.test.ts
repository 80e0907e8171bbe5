// A team's rollout: the plugin enabled by an organisation's policy (a real managed settings file, in a private
// mount namespace as root, so the machine's /etc never changes) or by the member, its ping URL in the member's
// credential store or in the policy; each member's doctor says it works, and proves it with a test ping.
import assert from "node:assert/strict";
import { type ProcessRun, type Receiver, removeTree, ROOT, runProcess, startReceiver } from "./_helpers.ts";

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
        const run = await withPolicy(policy, `exec /bin/sh '${LAUNCHER}' doctor --ping`, { HOME: home, PATH });
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.match(
          run.stdout,
          /enabled by your organisation's policy \(\/etc\/claude-code\/managed-settings\.json\)/,
        );
        assert.match(run.stdout, /the plugin's ping_url option, from your organisation's policy/);
        assert.match(run.stdout, /Test ping accepted: .* marked event "DoctorPing"/);
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
