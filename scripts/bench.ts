/**
 * The per-event cost of the hook, as Claude Code sees it (process start to
 * exit), side by side in one run against a loopback receiver: hook.ts under
 * Deno and Bun, TelemHQ's reference Python script on the same event, `curl`
 * posting the same payload (the floor for "start a process, send one
 * request"), and each runtime starting an empty script (the floor no hook
 * can go below). Runs are interleaved so every command sees the same machine.
 *
 * Run: deno task bench [--runs 15]      (needs python3 and curl)
 */
import { FIXTURES, hookCommand, ROOT, startReceiver } from "../test/_helpers.ts";

interface Sample {
  code: number;
  wall_ms: number;
  cpu_ms: number;
  peak_kib: number;
}

interface Subject {
  name: string;
  command: string[];
  stdin: string;
  /** Whether each run must deliver one ping. */
  pings: boolean;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function measure(subject: Subject, env: Record<string, string>): Promise<Sample> {
  const output = await new Deno.Command("python3", {
    args: [`${ROOT}scripts/_measure.py`, subject.stdin, ...subject.command],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const sample = JSON.parse(new TextDecoder().decode(output.stdout)) as Sample;
  if (sample.code !== 0) throw new Error(`"${subject.name}" exited ${sample.code}`);
  return sample;
}

function parseRuns(args: string[]): number {
  const index = args.indexOf("--runs");
  const runs = index === -1 ? 15 : Number(args[index + 1]);
  if (!Number.isInteger(runs) || runs < 3 || runs > 200) {
    throw new Error(`Cannot use --runs "${args[index + 1]}": give a whole number from 3 to 200`);
  }
  return runs;
}

async function main(): Promise<void> {
  const runs = parseRuns(Deno.args);
  const work = Deno.makeTempDirSync({ prefix: "telemhq-bench-" });
  const receiver = await startReceiver();
  try {
    const stop = Deno.readTextFileSync(`${FIXTURES}/tools/events.jsonl`).split("\n").find((line) =>
      line.includes('"hook_event_name":"Stop"')
    )!;
    Deno.writeTextFileSync(`${work}/event.json`, stop);
    Deno.writeTextFileSync(`${work}/empty.ts`, "");
    Deno.writeTextFileSync(`${work}/payload.json`, JSON.stringify({ provider: "anthropic", event: "Stop" }));
    const event = `${work}/event.json`;
    const [deno, bun] = [hookCommand("deno")[0], hookCommand("bun")[0]];
    // The Python binary itself, not a version manager's shim, so Python is not charged for the shim.
    const python = new TextDecoder().decode(
      (await new Deno.Command("python3", { args: ["-c", "import sys; print(sys.executable)"], stdout: "piped" })
        .output()).stdout,
    ).trim();
    const subjects: Subject[] = [
      { name: "hook.ts under Bun", command: hookCommand("bun"), stdin: event, pings: true },
      { name: "hook.ts under Deno", command: hookCommand("deno"), stdin: event, pings: true },
      {
        name: "reference Python script",
        command: [python, `${ROOT}test/reference/telemhq_ping.py`],
        stdin: event,
        pings: true,
      },
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
        stdin: event,
        pings: true,
      },
      { name: "Bun, empty script", command: [bun, `${work}/empty.ts`], stdin: event, pings: false },
      {
        name: "Deno, empty script",
        command: [deno, "run", "--no-config", "--no-lock", `${work}/empty.ts`],
        stdin: event,
        pings: false,
      },
      { name: "Python, empty (-c pass)", command: [python, "-c", "pass"], stdin: event, pings: false },
    ];
    const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: work, TELEMHQ_PING_URL: receiver.url };
    const samples = new Map<string, Sample[]>(subjects.map((subject) => [subject.name, []]));
    for (const subject of subjects) await measure(subject, env); // warm caches once
    const before = receiver.requests.length;
    for (let round = 0; round < runs; round++) {
      for (const subject of subjects) samples.get(subject.name)!.push(await measure(subject, env));
    }
    const expected = runs * subjects.filter((subject) => subject.pings).length;
    if (receiver.requests.length - before !== expected) {
      throw new Error(`The receiver got ${receiver.requests.length - before} pings, expected ${expected}`);
    }
    const stats = new Map(subjects.map((subject) => {
      const list = samples.get(subject.name)!;
      return [subject.name, {
        wall: median(list.map((sample) => sample.wall_ms)),
        cpu: median(list.map((sample) => sample.cpu_ms)),
        peak: median(list.map((sample) => sample.peak_kib)) / 1024,
      }];
    }));
    console.log(
      `Per-event cost, median of ${runs} interleaved runs, loopback receiver (${Deno.build.os}, ${navigator.hardwareConcurrency} cores)\n`,
    );
    console.log("| what | wall ms | CPU ms | peak MiB |");
    console.log("|---|---:|---:|---:|");
    for (const [name, stat] of stats) {
      console.log(`| ${name} | ${stat.wall.toFixed(1)} | ${stat.cpu.toFixed(1)} | ${stat.peak.toFixed(0)} |`);
    }
    const wall = (name: string) => stats.get(name)!.wall;
    const pythonWall = wall("reference Python script");
    const curl = wall("curl POST (floor: one process, one request)");
    const ratio = (value: number, target: string) => `${value.toFixed(2)}x (target ${target})`;
    console.log("\nRatios of wall time:");
    console.log(`- Bun / Python: ${ratio(wall("hook.ts under Bun") / pythonWall, "<= 0.2x")}`);
    console.log(`- Bun / curl: ${ratio(wall("hook.ts under Bun") / curl, "<= 2x")}`);
    console.log(`- Deno / Python: ${ratio(wall("hook.ts under Deno") / pythonWall, "<= 0.45x")}`);
    console.log(
      `- Bun above its empty script: ${
        (wall("hook.ts under Bun") - wall("Bun, empty script")).toFixed(1)
      } ms (target <= 10 ms)`,
    );
    console.log(
      `- Deno above its empty script: ${
        (wall("hook.ts under Deno") - wall("Deno, empty script")).toFixed(1)
      } ms (target <= 10 ms)`,
    );
  } finally {
    await receiver.close();
    Deno.removeSync(work, { recursive: true });
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
