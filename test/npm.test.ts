// The npm build for Node users: built from hook.ts, packed, installed from the
// tarball into a clean folder, and run as Claude Code runs it under the
// machine's Node and the current LTS lines (Node from the npm registry).
import assert from "node:assert/strict";
import { BIN_NAME, buildNpm, PACKAGE_NAME } from "../scripts/build-npm.ts";
import { STATE_LAYOUT } from "../mod.ts";
import {
  allEvents,
  pathExists,
  type ProcessRun,
  removeTree,
  ROOT,
  runProcess,
  runtimeBinary,
  SECRET_MARKER,
  startReceiver,
  tempStateDir,
  testEnv,
  waitUntil,
} from "./_helpers.ts";

/** The Node binaries under test: the machine's, and the LTS lines pinned in tools/. */
const NODES: Record<string, string> = {
  "machine": "/usr/bin/node",
  "22": `${ROOT}tools/node_modules/node-22/bin/node`,
  "24": `${ROOT}tools/node_modules/node-24/bin/node`,
};

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Built, packed and installed once for the whole file. */
const installed = await (async () => {
  const work = Deno.makeTempDirSync({ prefix: "telemhq-npm-" });
  const out = await buildNpm(`${work}/package`);
  const pack = await new Deno.Command("npm", {
    args: ["pack", "--silent", "--pack-destination", work],
    cwd: out,
    stdout: "piped",
    stderr: "null",
  })
    .output();
  assert.ok(pack.success, "npm pack");
  const tarball = `${work}/${decode(pack.stdout).trim().split("\n").pop()}`;
  const project = `${work}/project`;
  Deno.mkdirSync(project);
  Deno.writeTextFileSync(`${project}/package.json`, '{"name":"user-project","private":true}');
  const install = await new Deno.Command("npm", {
    args: ["install", "--no-audit", "--no-fund", "--offline", tarball],
    cwd: project,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(install.success, decode(install.stderr));
  return { work, tarball, project, bin: `${project}/node_modules/.bin/${BIN_NAME}` };
})();
// The built package goes when the test module ends.
globalThis.addEventListener("unload", () => Deno.removeSync(installed.work, { recursive: true }));

function runBin(node: string, args: string[], stdin: string, env: Record<string, string>): Promise<ProcessRun> {
  return runProcess([node, installed.bin, ...args], { stdin, env });
}

Deno.test("the packed package holds the bin, the hook and its types, README and LICENSE, versioned from deno.json", async () => {
  const list = await new Deno.Command("tar", { args: ["-tzf", installed.tarball], stdout: "piped" }).output();
  assert.deepEqual(decode(list.stdout).trim().split("\n").sort(), [
    "package/LICENSE",
    "package/README.md",
    "package/bin/hook.d.mts",
    "package/bin/hook.mjs",
    `package/bin/${BIN_NAME}.mjs`,
    "package/package.json",
  ]);
  const manifest = JSON.parse(Deno.readTextFileSync(`${installed.project}/node_modules/${PACKAGE_NAME}/package.json`));
  assert.equal(manifest.version, JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).version);
  assert.equal(manifest.bin[BIN_NAME], `bin/${BIN_NAME}.mjs`);
  assert.equal(manifest.exports["."].types, "./bin/hook.d.mts");
  const types = Deno.readTextFileSync(`${installed.project}/node_modules/${PACKAGE_NAME}/bin/hook.d.mts`);
  for (const name of ["buildPayload", "sendPing", "readTurnUsage", "deliverSpool"]) {
    assert.match(types, new RegExp(`export declare function ${name}`));
  }
  // The commands are the hook's, not the library's.
  assert.doesNotMatch(types, /export declare function installCommand/);
});

for (const [label, node] of Object.entries(NODES)) {
  Deno.test(`Node ${label}: every recorded event through the npm bin arrives as one clean ping`, async () => {
    const version = decode((await new Deno.Command(node, { args: ["--version"], stdout: "piped" }).output()).stdout)
      .trim();
    const receiver = await startReceiver();
    const stateDir = tempStateDir();
    try {
      const events = allEvents();
      for (const { event } of events) {
        const run = await runBin(
          node,
          [],
          JSON.stringify(event),
          testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url }),
        );
        assert.equal(run.code, 0);
        assert.equal(run.stdout, "");
        assert.equal(run.stderr, "");
      }
      await receiver.waitFor(events.length);
      const pings = receiver.requests.map((request) => JSON.parse(request.body));
      assert.ok(pings.every((ping) => ping.runtime === `node/${version.replace(/^v/, "")}`), "sent by this Node");
      assert.ok(receiver.requests.every((request) => !request.body.includes(SECRET_MARKER)));
      const bad = await runBin(
        node,
        [],
        "not json",
        testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TELEMHQ_HOOK_DEBUG: "1" }),
      );
      assert.equal(bad.code, 0);
      assert.equal(bad.stdout, "");
      assert.match(bad.stderr, /^TelemHQ hook: stdin is not valid JSON/);
    } finally {
      await receiver.close();
      await removeTree(stateDir);
    }
  });
}

Deno.test("Node: install through the npm bin writes a Node command that delivers a ping", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-npm-home-" });
  const receiver = await startReceiver();
  try {
    const run = await runBin(NODES.machine, ["install", "--url", receiver.url], "", { HOME: home });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /hook: +.*\/\.claude\/hooks\/telemhq\.mjs/);
    const settings = JSON.parse(Deno.readTextFileSync(`${home}/.claude/settings.json`));
    const command: string = settings.hooks.Stop[0].hooks[0].command;
    assert.match(
      command,
      /^trap '' TERM HUP; exec \/bin\/sh \S+\/\.claude\/hooks\/telemhq\.sh --node \/\S*node --hook \S*telemhq\.mjs$/,
    );
    assert.equal(
      Deno.readTextFileSync(`${home}/.claude/hooks/telemhq.mjs`),
      Deno.readTextFileSync(`${installed.project}/node_modules/${PACKAGE_NAME}/bin/hook.mjs`),
      "install copies the self-contained hook",
    );
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", command],
      clearEnv: true,
      env: { HOME: home, PATH: "/usr/bin:/bin", TELEMHQ_SENDER_IDLE_MS: "200" },
      stdin: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(allEvents()[2].event)));
    await writer.close();
    assert.equal((await child.status).code, 0);
    await receiver.waitFor(1);
    assert.match(JSON.parse(receiver.requests[0].body).runtime, /^node\//);
    const refused = await runBin(NODES.machine, ["install", "--url", receiver.url, "--runtime", "deno"], "", {
      HOME: home,
    });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^Cannot install for deno from the JavaScript build Node runs/);
  } finally {
    await receiver.close();
    await removeTree(home);
  }
});

Deno.test("npx and bunx run the same bin from the packed tarball", async () => {
  const cache = Deno.makeTempDirSync({ prefix: "telemhq-npx-" });
  try {
    const env = { PATH: `/usr/bin:/bin`, HOME: cache, npm_config_cache: `${cache}/npm` };
    const npx = await new Deno.Command("npx", {
      args: ["--yes", "--package", installed.tarball, BIN_NAME, "--help"],
      clearEnv: true,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(npx.code, 0, decode(npx.stderr));
    assert.match(decode(npx.stdout), /^TelemHQ hook for Claude Code \d+\.\d+\.\d+/);
    const bunx = await new Deno.Command(runtimeBinary("bun"), {
      args: ["x", "--bun", "--package", installed.tarball, BIN_NAME, "--help"],
      clearEnv: true,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bunx.code, 0, decode(bunx.stderr));
    assert.match(decode(bunx.stdout), /^TelemHQ hook for Claude Code \d+\.\d+\.\d+/);
  } finally {
    await removeTree(cache);
  }
});

Deno.test("Node 24: the bin keeps its compile cache in the private state folder, never in a shared temporary folder", async () => {
  const receiver = await startReceiver();
  const root = Deno.makeTempDirSync({ prefix: "telemhq-npm-cache-" });
  try {
    // A shared temporary folder where another user could have made node-compile-cache first.
    const shared = `${root}/tmp`;
    Deno.mkdirSync(shared, { mode: 0o777 });
    Deno.chmodSync(shared, 0o1777);
    const stateDir = `${root}/state`;
    Deno.mkdirSync(stateDir, { mode: 0o700 });
    const env = testEnv(stateDir, { TELEMHQ_PING_URL: receiver.url, TMPDIR: shared });
    const event = JSON.stringify({ hook_event_name: "PostToolUse", session_id: "s", tool_use_id: "cache" });
    assert.equal((await runBin(NODES["24"], [], event, env)).code, 0);
    await receiver.waitFor(1);
    assert.deepEqual([...Deno.readDirSync(shared)], [], "nothing in the shared folder");
    const cache = Deno.lstatSync(`${stateDir}/node-compile-cache`);
    assert.ok(cache.isDirectory && (cache.mode! & 0o777) === 0o700);
    assert.ok([...Deno.readDirSync(`${stateDir}/node-compile-cache`)].length > 0, "the cache is used");
    // uninstall takes the cache with the rest of the state folder.
    await waitUntil(() => !pathExists(`${stateDir}/${STATE_LAYOUT.lock}`), "the sender to leave");
    Deno.mkdirSync(`${root}/home`);
    const uninstall = await runBin(NODES["24"], ["uninstall"], "", { ...env, HOME: `${root}/home` });
    assert.equal(uninstall.code, 0, uninstall.stdout + uninstall.stderr);
    assert.ok(!pathExists(`${stateDir}/node-compile-cache`), "uninstall leaves no compile cache behind");
    Deno.mkdirSync(stateDir, { mode: 0o700, recursive: true });
    // A state folder others can change gets no cache at all.
    const loose = `${root}/loose`;
    Deno.mkdirSync(loose, { mode: 0o700 });
    Deno.chmodSync(root, 0o777);
    const looseEnv = testEnv(loose, { TELEMHQ_PING_URL: receiver.url, TMPDIR: shared });
    assert.equal((await runBin(NODES["24"], ["flush"], "", looseEnv)).code, 1);
    assert.deepEqual([...Deno.readDirSync(loose)], [], "no cache under a folder others can change");
    assert.deepEqual([...Deno.readDirSync(shared)], []);
  } finally {
    await receiver.close();
    Deno.chmodSync(root, 0o700);
    await removeTree(root);
  }
});
