/**
 * Reading a turn's usage costs the same for a 1 MB and a 200 MB transcript:
 * two transcripts that end with the same turn (the recorded `tools` session of
 * Claude Code 2.1.332) after 1 MB and 200 MB of earlier turns. Measured side by
 * side, interleaved: the hook on that turn's Stop event (what Claude Code waits
 * for), and the sender delivering its ping, usage read from the transcript
 * included.
 *
 * Run: deno task bench:usage [--runs 9]      (needs python3; writes ~200 MB to a temporary folder)
 */
import { hookCommand, pathExists, ROOT, type RuntimeName, startReceiver } from "./_dev.ts";
import { measureCommand as measure, median, parseRuns, type Sample } from "./_measure.ts";

const FIXTURE = `${ROOT}test/fixtures/claude-code-2.1.332/tools`;

/** Earlier turns: the session's own lines under other prompt ids, repeated until `bytes`. */
function writeTranscript(path: string, bytes: number, lastTurn: string[]): void {
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let written = 0;
  for (let turn = 0; written < bytes; turn++) {
    const earlier = lastTurn.map((line) =>
      line.replaceAll(/"promptId":"[^"]+"/g, `"promptId":"earlier-${turn}"`).replaceAll(/msg_tools_/g, `msg_t${turn}_`)
    ).join("\n") + "\n";
    const chunk = encoder.encode(earlier);
    file.writeSync(chunk);
    written += chunk.length;
  }
  file.writeSync(encoder.encode(lastTurn.join("\n") + "\n"));
  file.close();
}

async function main(): Promise<void> {
  const runs = parseRuns(Deno.args, 9, 100);
  const runtime: RuntimeName = Deno.args.includes("--deno") ? "deno" : "bun";
  const work = Deno.makeTempDirSync({ prefix: "telemhq-bench-usage-" });
  const receiver = await startReceiver();
  try {
    const projects = `${FIXTURE}/home/.claude/projects/-home-dev-projects-api`;
    const name = [...Deno.readDirSync(projects)].find((entry) => entry.name.endsWith(".jsonl"))!.name;
    const lastTurn = Deno.readTextFileSync(`${projects}/${name}`).trimEnd().split("\n");
    const stop = Deno.readTextFileSync(`${FIXTURE}/events.jsonl`).split("\n").map((line) => line && JSON.parse(line))
      .find((event) => event && event.hook_event_name === "Stop");
    const sizes = [["1 MB", 1_000_000], ["200 MB", 200_000_000]] as const;
    const subjects = sizes.map(([label, bytes]) => {
      const transcript = `${work}/${bytes}.jsonl`;
      writeTranscript(transcript, bytes, lastTurn);
      const stateDir = `${work}/state-${bytes}`;
      Deno.mkdirSync(`${stateDir}/spool`, { recursive: true });
      const event = `${work}/event-${bytes}.json`;
      Deno.writeTextFileSync(event, JSON.stringify({ ...stop, transcript_path: transcript }));
      return { label, bytes: Deno.statSync(transcript).size, transcript, stateDir, event };
    });
    const env = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? work,
      TELEMHQ_PING_URL: receiver.url,
      TELEMHQ_SENDER_IDLE_MS: "0",
    };
    const hookSamples = new Map<string, Sample[]>(subjects.map((subject) => [subject.label, []]));
    const senderSamples = new Map<string, Sample[]>(subjects.map((subject) => [subject.label, []]));
    for (let round = -1; round < runs; round++) {
      for (const subject of subjects) {
        const subjectEnv = { ...env, TELEMHQ_STATE_DIR: subject.stateDir };
        // The hook spools the Stop ping; a sender it starts could race us, so the spool is
        // cleared and the sender measured on its own, in the foreground, on the same entry.
        const hook = await measure(hookCommand(runtime, subject.stateDir), subject.event, subjectEnv);
        await waitForEmptySpool(subject.stateDir);
        const entry = {
          v: 1,
          url: receiver.url,
          payload: { provider: "anthropic", tool: "claude-code", event: "Stop", ping_id: `bench-${round}` },
          created_at: Date.now(),
          attempts: 0,
          next_at: 0,
          local: { transcript_path: subject.transcript, prompt_id: stop.prompt_id },
        };
        Deno.writeTextFileSync(`${subject.stateDir}/spool/bench-${round}.json`, JSON.stringify(entry));
        const sender = await measure([...hookCommand(runtime, subject.stateDir), "deliver"], "/dev/null", subjectEnv);
        if (round >= 0) {
          hookSamples.get(subject.label)!.push(hook);
          senderSamples.get(subject.label)!.push(sender);
        }
      }
    }
    const withUsage = receiver.requests.map((request) => JSON.parse(request.body)).filter((ping) =>
      ping.ping_id?.startsWith("bench-")
    );
    if (withUsage.some((ping) => ping.output_tokens !== 42)) throw new Error("A sender did not read the turn's usage");
    console.log(`Reading a turn's usage, ${runtime}, median of ${runs} interleaved runs (2 cores)\n`);
    console.log(
      "| transcript | hook on Stop, wall ms | sender with usage, wall ms | sender CPU ms | sender peak MiB |",
    );
    console.log("|---|---:|---:|---:|---:|");
    for (const subject of subjects) {
      const hook = hookSamples.get(subject.label)!;
      const sender = senderSamples.get(subject.label)!;
      console.log(
        `| ${subject.label} (${(subject.bytes / 1e6).toFixed(1)} MB) | ${
          median(hook.map((s) => s.wall_ms)).toFixed(1)
        } | ` +
          `${median(sender.map((s) => s.wall_ms)).toFixed(1)} | ${median(sender.map((s) => s.cpu_ms)).toFixed(1)} | ` +
          `${(median(sender.map((s) => s.peak_kib)) / 1024).toFixed(0)} |`,
      );
    }
    const wall = (label: string, samples: Map<string, Sample[]>) => median(samples.get(label)!.map((s) => s.wall_ms));
    console.log(
      `\n200 MB / 1 MB: hook ${(wall("200 MB", hookSamples) / wall("1 MB", hookSamples)).toFixed(2)}x, ` +
        `sender with usage ${
          (wall("200 MB", senderSamples) / wall("1 MB", senderSamples)).toFixed(2)
        }x (target < 1.2x)`,
    );
  } finally {
    await receiver.close();
    Deno.removeSync(work, { recursive: true });
  }
}

async function waitForEmptySpool(stateDir: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const busy = [...Deno.readDirSync(`${stateDir}/spool`)].length > 0 || pathExists(`${stateDir}/sender.lock`);
    if (!busy) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
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
