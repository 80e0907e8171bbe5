/**
 * The per-event cost of the hook, as Claude Code sees it (process start to
 * exit), side by side in one run against a loopback receiver: hook.ts under
 * Deno and Bun, TelemHQ's reference Python script on the same event, `curl`
 * posting the same payload (the floor for "start a process, send one
 * request"), and each runtime starting an empty script (the floor no hook
 * can go below). Runs are interleaved so every command sees the same machine.
 *
 * Each hook is measured in the states Claude Code meets: a sender already
 * running (events in a busy session), the hook starting the sender (the first
 * event after a quiet spell), and the launcher (the fast path). The detached sender's
 * own cost, off Claude Code's path, is measured on its own.
 *
 * Run: deno task bench [--runs 15] [--baseline OLD_HOOK.ts] [--quick]      (needs python3 and curl)
 * `--baseline` measures another hook file beside hook.ts, in the same run
 * (a before/after table for a change: `git show HEAD~1:hook.ts > old.ts`).
 * `--quick` measures only what a change to the hot path moves: the hooks
 * under Bun and Deno, Python, curl and the empty scripts (no Node, npx,
 * bunx or sender rows), in a fifth of the time.
 */
import { buildPayload, detectRuntime, spoolPing } from "../mod.ts";
import { BIN_NAME, buildNpm } from "./build-npm.ts";
import { benchFolder, measureCommand, median, parseRuns, type Sample } from "./_measure.ts";
import {
  FIXTURES,
  HOOK_PATH,
  hookCommand,
  launcherLine,
  ROOT,
  runtimeBinary,
  type RuntimeName,
  startReceiver,
} from "./_dev.ts";

/** One measured run of a subject. */
function measure(subject: Subject, stdin: string, env: Record<string, string>): Promise<Sample> {
  return measureCommand(subject.command, stdin, { ...env, ...subject.env }, subject.name, projectFolder);
}

/**
 * Where every command runs: a project folder in the bench's own (as Claude Code starts a hook in the project's
 * folder). Bun reads every entry of the folders above the folder it runs in: from a clone under a crowded /tmp, its
 * empty script took 16 ms instead of 7.
 */
let projectFolder = "/";

interface Subject {
  name: string;
  command: string[];
  /** Extra environment (each hook subject has its own state directory). */
  env?: Record<string, string>;
  /** Whether each run must deliver one ping. */
  pings: boolean;
  /** Called after each run, outside the measurement (to let a detached sender finish). */
  settle?: () => Promise<void>;
}

/** Waits (bounded) until no sender holds the lock of a state directory. */
async function senderGone(stateDir: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    try {
      Deno.statSync(`${stateDir}/sender.lock`);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function main(): Promise<void> {
  const runs = parseRuns(Deno.args, 15, 200);
  if (Deno.env.get("HOME")?.startsWith("/tmp/")) {
    // Bun reads every entry of the folders above the scripts it starts: under a crowded /tmp that is milliseconds.
    console.error("warning: HOME is under /tmp, where Bun starts scripts several ms slower: Bun's rows will be high");
  }
  const quick = Deno.args.includes("--quick");
  // In the home folder's cache, as a hook lives in ~/.claude, not in the system's temporary folder: Bun reads every
  // entry of the folders above a script it starts (and keeps no transpiled copy of a file under /tmp), so an empty
  // script there costs it 6 ms more than one in a home folder, and a baseline hook ten. Not in the repository either:
  // a plugin installed from a working tree copies every file in it.
  const work = benchFolder();
  projectFolder = `${work}/project`;
  Deno.mkdirSync(projectFolder);
  const receiver = await startReceiver();
  try {
    const stop = Deno.readTextFileSync(`${FIXTURES}/tools/events.jsonl`).split("\n").find((line) =>
      line.includes('"hook_event_name":"Stop"')
    )!;
    const event = `${work}/event.json`;
    // A new turn for every run: the same event twice is one ping (the hook drops a repeat it already sent).
    let turn = 0;
    const nextTurn = () =>
      Deno.writeTextFileSync(event, stop.replace(/"prompt_id":"[^"]*"/, `"prompt_id":"bench-${++turn}"`));
    nextTurn();
    Deno.writeTextFileSync(`${work}/empty.ts`, "");
    Deno.writeTextFileSync(`${work}/empty.mjs`, "");
    Deno.writeTextFileSync(`${work}/payload.json`, JSON.stringify({ provider: "anthropic", event: "Stop" }));
    // The Python binary itself, not a version manager's shim, so Python is not charged for the shim.
    const python = new TextDecoder().decode(
      (await new Deno.Command("python3", { args: ["-c", "import sys; print(sys.executable)"], stdout: "piped" })
        .output()).stdout,
    ).trim();
    const state = (name: string) => {
      const dir = `${work}/${name}`;
      // Private, as the hook makes its state folder: the Node route keeps its compile cache only in such a folder.
      Deno.mkdirSync(dir, { mode: 0o700 });
      return dir;
    };
    const baselineAt = Deno.args.indexOf("--baseline");
    const baseline = baselineAt >= 0 ? `${work}/baseline-hook.ts` : undefined;
    if (baseline !== undefined) Deno.copyFileSync(Deno.args[baselineAt + 1], baseline);
    const hookSubjects = (runtime: RuntimeName, hookPath = HOOK_PATH, tag = "hook.ts"): Subject[] => {
      const prefix = tag === "hook.ts" ? runtime : `${runtime}-baseline`;
      const running = state(`${prefix}-running`);
      const starting = state(`${prefix}-starting`);
      const fast = state(`${prefix}-fast`);
      return [
        {
          name: `${tag} under ${label(runtime)}, sender running`,
          command: hookCommand(runtime, running, hookPath),
          env: { TELEMHQ_STATE_DIR: running, TELEMHQ_SENDER_IDLE_MS: "600000" },
          pings: true,
        },
        {
          name: `${tag} under ${label(runtime)}, starting the sender`,
          command: hookCommand(runtime, starting, hookPath),
          env: { TELEMHQ_STATE_DIR: starting, TELEMHQ_SENDER_IDLE_MS: "0" },
          pings: true,
          settle: () => senderGone(starting),
        },
        {
          name: `launcher (fast path), ${label(runtime)} behind it${tag === "hook.ts" ? "" : ` (${tag})`}`,
          command: ["/bin/sh", "-c", launcherLine(runtime, hookPath)],
          env: { TELEMHQ_STATE_DIR: fast, TELEMHQ_SENDER_IDLE_MS: "0" },
          pings: true,
          settle: () => senderGone(fast),
        },
      ];
    };
    const [deno, bun] = [runtimeBinary("deno"), runtimeBinary("bun")];
    // The npm build, as Node users run it: the bin under each Node, and through npx and bunx.
    const npmPackage = quick ? "" : await buildNpm(`${work}/npm`);
    const npmBin = `${npmPackage}/bin/${BIN_NAME}.mjs`;
    const tarball = quick ? "" : await packTarball(npmPackage, work);
    const nodeSubjects = Object.entries(quick ? {} : NODES).flatMap(([label, node]): Subject[] => {
      const running = state(`node-${label}-running`);
      const starting = state(`node-${label}-starting`);
      return [
        {
          name: `npm bin under Node ${label}, sender running`,
          command: [node, npmBin],
          env: { TELEMHQ_STATE_DIR: running, TELEMHQ_SENDER_IDLE_MS: "600000" },
          pings: true,
        },
        {
          name: `npm bin under Node ${label}, starting the sender`,
          command: [node, npmBin],
          env: { TELEMHQ_STATE_DIR: starting, TELEMHQ_SENDER_IDLE_MS: "0" },
          pings: true,
          settle: () => senderGone(starting),
        },
        { name: `Node ${label}, empty script`, command: [node, `${work}/empty.mjs`], pings: false },
        // What the plugin runs when Node is the only runtime: hook.mjs (hook.ts, types stripped) through its starter.
        {
          name: `plugin's Node route (hook-node.mjs) under Node ${label}, sender running`,
          command: [node, `${ROOT}hook-node.mjs`],
          env: { TELEMHQ_STATE_DIR: state(`node-${label}-plugin`), TELEMHQ_SENDER_IDLE_MS: "600000" },
          pings: true,
        },
        // hook.ts itself, its types stripped by Node on every start (22.18+): what the plugin ran before.
        ...(label.startsWith("20") ? [] : [{
          name: `hook.ts under Node ${label}, sender running`,
          command: [node, HOOK_PATH],
          env: { TELEMHQ_STATE_DIR: state(`node-${label}-ts`), TELEMHQ_SENDER_IDLE_MS: "600000" },
          pings: true,
        }]),
      ];
    });

    const subjects: Subject[] = [
      ...hookSubjects("bun"),
      ...hookSubjects("deno"),
      ...(baseline === undefined
        ? []
        : [...hookSubjects("bun", baseline, "baseline"), ...hookSubjects("deno", baseline, "baseline")]),
      ...nodeSubjects,
      { name: "reference Python script", command: [python, `${ROOT}test/reference/telemhq_ping.py`], pings: true },
      {
        name: "curl POST (floor: one process, one request)",
        command: [
          "curl",
          "-sS",
          "-o",
          "/dev/null",
          "-H",
          "content-type: application/json",
          "--data-binary",
          `@${work}/payload.json`,
          receiver.url,
        ],
        pings: true,
      },
      { name: "Bun, empty script", command: [bun, `${work}/empty.ts`], pings: false },
      {
        name: "Deno, empty script",
        command: [deno, "run", "--no-config", "--no-lock", `${work}/empty.ts`],
        pings: false,
      },
      { name: "Python, empty (-c pass)", command: [python, "-c", "pass"], pings: false },
    ];
    const env = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? work,
      TELEMHQ_PING_URL: receiver.url,
    };
    // npx and bunx take far longer and start several processes: measured after the others, on their own.
    const launchers: Subject[] = quick ? [] : [
      {
        name: "npx (packed tarball), sender running",
        command: ["npx", "--yes", "--package", tarball, BIN_NAME],
        env: {
          TELEMHQ_STATE_DIR: state("npx"),
          TELEMHQ_SENDER_IDLE_MS: "600000",
          npm_config_cache: `${work}/npm-cache`,
        },
        pings: true,
      },
      {
        name: "bunx (packed tarball), sender running",
        command: [bun, "x", "--bun", "--package", tarball, BIN_NAME],
        env: { TELEMHQ_STATE_DIR: state("bunx"), TELEMHQ_SENDER_IDLE_MS: "600000" },
        pings: true,
      },
    ];
    const samples = new Map<string, Sample[]>([...subjects, ...launchers].map((subject) => [subject.name, []]));
    // Warm caches once (and start the long-lived senders).
    for (const subject of subjects) {
      await measure(subject, event, env);
      await subject.settle?.();
    }
    for (let round = 0; round < runs; round++) {
      nextTurn();
      for (const subject of subjects) {
        samples.get(subject.name)!.push(await measure(subject, event, env));
        await subject.settle?.();
      }
    }
    const launcherRuns = Math.min(runs, 5);
    for (const subject of launchers) {
      nextTurn();
      await measure(subject, event, env); // fetches the package into the cache once
      for (let round = 0; round < launcherRuns; round++) {
        nextTurn();
        samples.get(subject.name)!.push(await measure(subject, event, env));
      }
    }
    const senders = quick ? [] : await measureSenders(runs, work, env);
    const expected = (runs + 1) * subjects.filter((subject) => subject.pings).length + senders.length * runs +
      (launcherRuns + 1) * launchers.length;
    await receiver.waitFor(expected, 20_000).catch(() => {
      // Say where the missing pings are, rather than fail the whole run.
      for (const entry of Deno.readDirSync(work)) {
        const spool = `${work}/${entry.name}/spool`;
        const left = (() => {
          try {
            return [...Deno.readDirSync(spool)].map((file) => file.name);
          } catch {
            return [];
          }
        })();
        if (left.length > 0) console.error(`warning: ${entry.name} still spools ${left.join(", ")}`);
      }
      console.error(`warning: the receiver got ${receiver.requests.length} of ${expected} pings`);
    });
    const stats = new Map(
      [...[...subjects, ...launchers].map((subject) => [subject.name, samples.get(subject.name)!] as const), ...senders]
        .map(
          ([name, list]) => [name, {
            wall: median(list.map((sample) => sample.wall_ms)),
            cpu: median(list.map((sample) => sample.cpu_ms)),
            peak: median(list.map((sample) => sample.peak_kib)) / 1024,
          }],
        ),
    );
    printReport(stats, runs);
  } finally {
    await receiver.close();
    Deno.removeSync(work, { recursive: true });
  }
}

/** The machine's Node and the LTS lines pinned in tools/. */
const NODES: Record<string, string> = {
  "20 (machine)": "/usr/bin/node",
  "22": `${ROOT}tools/node_modules/node-22/bin/node`,
  "24": `${ROOT}tools/node_modules/node-24/bin/node`,
};

async function packTarball(folder: string, into: string): Promise<string> {
  const output = await new Deno.Command("npm", {
    args: ["pack", "--silent", "--pack-destination", into],
    cwd: folder,
    stdout: "piped",
  })
    .output();
  if (!output.success) throw new Error("Cannot pack the npm build: npm pack failed.");
  return `${into}/${new TextDecoder().decode(output.stdout).trim().split("\n").pop()}`;
}

function label(runtime: RuntimeName): string {
  return runtime === "deno" ? "Deno" : "Bun";
}

/**
 * The detached sender's own cost for one ping (off Claude Code's path, but
 * part of the whole cost per event): one spooled ping, `hook.ts deliver` run
 * in the foreground until it has delivered it and left.
 */
async function measureSenders(runs: number, work: string, env: Record<string, string>): Promise<[string, Sample[]][]> {
  const results: [string, Sample[]][] = [];
  for (const runtime of ["bun", "deno"] as const) {
    const stateDir = `${work}/${runtime}-sender`;
    const list: Sample[] = [];
    for (let round = 0; round < runs; round++) {
      // A real spool entry, as a hook writes it: one tool ping for the sender to deliver.
      Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      const payload = await buildPayload(
        { hook_event_name: "PostToolUse", session_id: "bench", tool_use_id: `toolu_bench_${runtime}_${round}` },
        { fallbackCwd: "/", runtime: "bench/1" },
      );
      await spoolPing(detectRuntime(), stateDir, payload);
      const subject: Subject = {
        name: "sender",
        command: [...hookCommand(runtime, stateDir), "deliver"],
        env: { TELEMHQ_STATE_DIR: stateDir, TELEMHQ_SENDER_IDLE_MS: "0" },
        pings: true,
      };
      list.push(await measure(subject, "/dev/null", env));
    }
    results.push([`detached sender under ${label(runtime)}, per wake-up (one ping)`, list]);
  }
  return results;
}

function printReport(stats: Map<string, { wall: number; cpu: number; peak: number }>, runs: number): void {
  console.log(
    `Per-event cost, median of ${runs} interleaved runs, loopback receiver (${Deno.build.os}, ${navigator.hardwareConcurrency} cores)\n`,
  );
  console.log("| what | wall ms | CPU ms | peak MiB |");
  console.log("|---|---:|---:|---:|");
  for (const [name, stat] of stats) {
    console.log(`| ${name} | ${stat.wall.toFixed(1)} | ${stat.cpu.toFixed(1)} | ${stat.peak.toFixed(0)} |`);
  }
  const wall = (name: string) => stats.get(name)!.wall;
  const python = wall("reference Python script");
  const curl = wall("curl POST (floor: one process, one request)");
  const ratio = (value: number, target: string) => `${value.toFixed(2)}x (target ${target})`;
  console.log("\nWhat Claude Code waits for, as ratios of wall time:");
  for (const runtime of ["Bun", "Deno"]) {
    for (const state of ["sender running", "starting the sender"]) {
      const hook = wall(`hook.ts under ${runtime}, ${state}`);
      const empty = wall(`${runtime}, empty script`);
      const pythonTarget = runtime === "Bun" ? "<= 0.2x" : "<= 0.45x";
      console.log(
        `- ${runtime}, ${state}: ${ratio(hook / python, pythonTarget)} of Python; ` +
          (runtime === "Bun" ? `${ratio(hook / curl, "<= 2x")} of curl; ` : "") +
          `${
            (hook - empty).toFixed(1)
          } ms above its empty script (target <= 6 ms: out of reach for a file this size, ` +
          `see docs/benchmarks.md)`,
      );
    }
    for (const state of ["sender running", "starting the sender"]) {
      const baseline = stats.get(`baseline under ${runtime}, ${state}`);
      if (baseline === undefined) continue;
      const change = baseline.wall - wall(`hook.ts under ${runtime}, ${state}`);
      console.log(
        `- baseline under ${runtime}, ${state}: ${(baseline.wall - wall(`${runtime}, empty script`)).toFixed(1)} ` +
          `ms above its empty script; hook.ts ${Math.abs(change).toFixed(1)} ms ${change >= 0 ? "faster" : "slower"}`,
      );
    }
    const fast = wall(`launcher (fast path), ${runtime} behind it`);
    console.log(
      `- launcher (fast path), ${runtime} behind it, what install and the plugin run: ${(fast / python).toFixed(2)}x ` +
        `of Python, ${(fast / curl).toFixed(2)}x of curl`,
    );
  }
  for (const label of Object.keys(NODES).filter((label) => stats.has(`Node ${label}, empty script`))) {
    const empty = wall(`Node ${label}, empty script`);
    for (const state of ["sender running", "starting the sender"]) {
      const bin = wall(`npm bin under Node ${label}, ${state}`);
      console.log(
        `- npm bin under Node ${label}, ${state}: ${
          (bin - empty).toFixed(1)
        } ms above its empty script (target <= 15 ms)`,
      );
    }
    const plugin = wall(`plugin's Node route (hook-node.mjs) under Node ${label}, sender running`);
    console.log(
      `- plugin's Node route under Node ${label}, sender running: ${
        (plugin - empty).toFixed(1)
      } ms above its empty script (target <= 10 ms)`,
    );
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
