/**
 * Where a directly run hook.ts spends its time on one Stop event, step by step, under Bun and Deno (a sender
 * running, as in a busy session): a copy of hook.ts with a clock read at each step's end prints the readings on
 * stderr; the first reading is where its first line runs, against an empty script's first line (the runtime's own
 * start). Runs are interleaved, and each step's figure is the median over the runs.
 *
 * The readings are inserted at fixed places in hook.ts (see STEPS); when one is no longer there, the script says
 * which, so that the list is kept in step with the code.
 *
 * Run: deno task bench:steps [--runs 21] [--hook OTHER_HOOK.ts]
 */
import { benchFolder, median, parseRuns } from "./_measure.ts";
import {
  FIXTURES,
  HOOK_PATH,
  hookCommand,
  runProcess,
  runtimeBinary,
  type RuntimeName,
  startReceiver,
} from "./_dev.ts";

/** Each step, by the line of hook.ts after which it ends (it must occur once). */
const STEPS: readonly { name: string; after: string }[] = [
  {
    name: "the file's top level (its tables, its functions)",
    after: "export async function runCommandLine(): Promise<void> {",
  },
  { name: "pick the runtime's adapter", after: "  const runtime = detectRuntime();" },
  {
    name: "read the settings, check the state folder and its parents",
    after: "    const { config, state } = await loadConfig(runtime);",
  },
  {
    name: "read the event from stdin",
    after: "    const input = parseEvent(await readAll(runtime.stdin(), MAX_EVENT_BYTES));",
  },
  {
    name: "build the payload (three SHA-256 hashes)",
    after: "      homeDir: homeDirectory((name) => runtime.env(name), hostPathStyle()),\n    });",
  },
  { name: "spool it, keep its destination, check the sender", after: "    const problem = await runHook(runtime);" },
];

/** The reading at the file's first line, and what prints every reading: this script reads them from stderr. */
const CLOCK = 'const __steps: [string, number][] = [["first line", performance.now()]];';
const REPORT = '  console.error("TELEMHQ_STEPS " + JSON.stringify(__steps));';

/** hook.ts with the readings in it. */
export function instrumented(source: string): string {
  let text = source.replace(/^(#![^\n]*\n)/, `$1${CLOCK}\n`);
  for (const step of STEPS) {
    const at = text.indexOf(step.after);
    if (at === -1 || text.indexOf(step.after, at + 1) !== -1) {
      throw new Error(`Cannot find "${step.after.trim()}" once in hook.ts: update STEPS in scripts/bench-steps.ts`);
    }
    const end = at + step.after.length;
    text = `${text.slice(0, end)}\n__steps.push([${JSON.stringify(step.name)}, performance.now()]);${text.slice(end)}`;
  }
  const exit = "    runtime.exit(0);\n  }\n  try {";
  if (text.indexOf(exit) === -1) throw new Error("Cannot find where the hook exits: update scripts/bench-steps.ts");
  return text.replace(exit, `${REPORT}\n${exit}`);
}

/** One run: the readings, in milliseconds since the process started. */
async function readings(
  command: string[],
  stdin: string,
  env: Record<string, string>,
  cwd: string,
): Promise<[string, number][]> {
  const { stderr } = await runProcess(command, { env, cwd, stdin });
  const line = stderr.split("\n").find((text) => text.startsWith("TELEMHQ_STEPS "));
  if (line === undefined) throw new Error(`"${command.join(" ")}" printed no readings`);
  return JSON.parse(line.slice("TELEMHQ_STEPS ".length));
}

async function main(): Promise<void> {
  const runs = parseRuns(Deno.args, 21, 200);
  const work = benchFolder();
  const receiver = await startReceiver();
  try {
    const hook = `${work}/hook.ts`;
    const other = Deno.args.indexOf("--hook");
    Deno.writeTextFileSync(hook, instrumented(Deno.readTextFileSync(other === -1 ? HOOK_PATH : Deno.args[other + 1])));
    Deno.writeTextFileSync(
      `${work}/empty.ts`,
      'console.error("TELEMHQ_STEPS " + JSON.stringify([["first line", performance.now()]]));\n',
    );
    const stop = Deno.readTextFileSync(`${FIXTURES}/tools/events.jsonl`).split("\n")
      .find((line) => line.includes('"hook_event_name":"Stop"'))!;
    const runtimes: RuntimeName[] = ["bun", "deno"];
    const samples = new Map<string, Map<string, number[]>>();
    const add = (who: string, step: string, ms: number) => {
      const steps = samples.get(who) ?? samples.set(who, new Map()).get(who)!;
      steps.set(step, [...(steps.get(step) ?? []), ms]);
    };
    const env = (runtime: RuntimeName) => ({
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME")!,
      TELEMHQ_PING_URL: receiver.url,
      TELEMHQ_STATE_DIR: `${work}/${runtime}-state`,
      TELEMHQ_SENDER_IDLE_MS: "600000",
    });
    for (const runtime of runtimes) Deno.mkdirSync(`${work}/${runtime}-state`, { mode: 0o700 });
    Deno.mkdirSync(`${work}/project`);
    const empty = (runtime: RuntimeName) =>
      runtime === "bun"
        ? [runtimeBinary("bun"), `${work}/empty.ts`]
        : [runtimeBinary("deno"), "run", "--no-config", "--no-lock", `${work}/empty.ts`];
    // One round to warm the caches and start the senders, then the measured ones.
    for (let round = -1; round < runs; round++) {
      for (const runtime of runtimes) {
        const event = stop.replace(/"prompt_id":"[^"]*"/, `"prompt_id":"steps-${runtime}-${round}"`);
        // From a project folder in the bench's own, as Claude Code starts a hook (Bun reads the folders above it).
        const project = `${work}/project`;
        const hookLine = hookCommand(runtime, `${work}/${runtime}-state`, hook);
        const hookReadings = await readings(hookLine, event, env(runtime), project);
        const emptyReadings = await readings(empty(runtime), "", env(runtime), project);
        if (round < 0) continue;
        add(runtime, "start of an empty script (the runtime's own)", emptyReadings[0][1]);
        add(
          runtime,
          "load the file (its first line, less the empty script's)",
          hookReadings[0][1] - emptyReadings[0][1],
        );
        for (let index = 1; index < hookReadings.length; index++) {
          add(runtime, hookReadings[index][0], hookReadings[index][1] - hookReadings[index - 1][1]);
        }
        add(runtime, "the hook, first line to done", hookReadings.at(-1)![1] - hookReadings[0][1]);
      }
    }
    console.log(`Where a directly run hook.ts spends one Stop event (a sender running), median of ${runs} runs, ms\n`);
    console.log(`| step | ${runtimes.join(" | ")} |`);
    console.log(`|---|${runtimes.map(() => "---:").join("|")}|`);
    for (const step of samples.get(runtimes[0])!.keys()) {
      const cells = runtimes.map((runtime) => median(samples.get(runtime)!.get(step) ?? [NaN]).toFixed(1));
      console.log(`| ${step} | ${cells.join(" | ")} |`);
    }
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
