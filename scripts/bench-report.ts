/**
 * Measures `report` over a large history against ccusage 20.0.24's native
 * binary (pinned in tools/), side by side in one run: a synthetic Claude Code
 * folder of N transcripts (default 800, about 200 MB: the recorded sessions'
 * lines with fresh ids, and tool results padded to real sizes), each program
 * run `--runs` times, interleaved; wall time and peak memory, medians.
 * `--scale 10` makes the history ten times larger (memory must not grow).
 *
 * Run: deno task bench:report [--runs 3] [--files 800] [--scale 1]
 */
import { HOOK_PATH, NEWEST_FIXTURES, ROOT, runtimeBinary, SCENARIOS } from "./_dev.ts";
import { measureCommand, median, parseRuns, type Sample } from "./_measure.ts";

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  const value = index === -1 ? fallback : Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`Cannot use ${name} "${args[index + 1]}": give a whole number`);
  }
  return value;
}

/** The recorded transcripts' lines, as templates. */
function templateLines(): string[] {
  const lines: string[] = [];
  for (const scenario of SCENARIOS) {
    const walk = (dir: string) => {
      for (const entry of Deno.readDirSync(dir)) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory) walk(path);
        // Claude Code's own huge lines (attachments of 100 KB and more) are left out: they would leave a 250 KB file
        // one response, where real sessions hold dozens.
        else if (entry.name.endsWith(".jsonl")) {
          lines.push(...Deno.readTextFileSync(path).split("\n").filter((line) => line !== "" && line.length < 20_000));
        }
      }
    };
    walk(`${NEWEST_FIXTURES}/${scenario}/home/.claude/projects`);
  }
  return lines;
}

/** Writes the history: each file a session of template lines with its own ids, padded to about 250 KB. */
function writeHistory(home: string, files: number): number {
  const templates = templateLines();
  const padding = "x".repeat(8_000);
  let bytes = 0;
  for (let file = 0; file < files; file++) {
    const dir = `${home}/.claude/projects/-home-dev-project-${file % 40}`;
    Deno.mkdirSync(dir, { recursive: true });
    const session = crypto.randomUUID();
    const out: string[] = [];
    let size = 0;
    for (let copy = 0; size < 240_000; copy++) {
      for (const line of templates) {
        const value = JSON.parse(line);
        value.sessionId = session;
        if (value.message?.id) value.message.id = `${value.message.id}_${file}_${copy}`;
        if (value.requestId) value.requestId = `${value.requestId}_${file}_${copy}`;
        if (value.uuid) value.uuid = `${value.uuid}_${file}_${copy}`;
        if (value.type === "user" && value.toolUseResult !== undefined) value.padding = padding;
        const text = JSON.stringify(value);
        out.push(text);
        size += text.length + 1;
        if (size >= 250_000) break;
      }
    }
    const text = out.join("\n") + "\n";
    Deno.writeTextFileSync(`${dir}/${session}.jsonl`, text);
    bytes += text.length;
  }
  return bytes;
}

async function main(args: string[]): Promise<void> {
  const runs = parseRuns(args, 3, 11);
  const files = option(args, "--files", 800) * option(args, "--scale", 1);
  const home = Deno.makeTempDirSync({ prefix: "telemhq-bench-report-" });
  try {
    const bytes = writeHistory(home, files);
    const env = { HOME: home, PATH: "/usr/bin:/bin", TZ: "UTC" };
    const commands: Record<string, string[]> = {
      "ccusage 20.0.24 (native)": [
        `${ROOT}tools/ccusage/node_modules/.bin/ccusage`,
        "claude",
        "session",
        "--json",
        "--offline",
      ],
      "report under Bun": [runtimeBinary("bun"), HOOK_PATH, "report", "--json", "--by", "session"],
      "report under Deno": [
        runtimeBinary("deno"),
        "run",
        "--no-config",
        "-A",
        HOOK_PATH,
        "report",
        "--json",
        "--by",
        "session",
      ],
      "report under Node 24": [
        `${ROOT}tools/node_modules/node-24/bin/node`,
        `${ROOT}hook.mjs`,
        "report",
        "--json",
        "--by",
        "session",
      ],
    };
    const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
    for (let run = 0; run < runs; run++) {
      for (const [name, command] of Object.entries(commands)) {
        samples[name].push(await measureCommand(command, "/dev/null", env, name));
      }
    }
    const base = median(samples["ccusage 20.0.24 (native)"].map((s) => s.wall_ms));
    console.log(`${files} transcripts, ${(bytes / 1e6).toFixed(0)} MB, ${runs} runs each (medians):\n`);
    console.log("| program | wall s | vs ccusage | peak MiB |");
    console.log("| --- | ---: | ---: | ---: |");
    for (const [name, list] of Object.entries(samples)) {
      const wall = median(list.map((s) => s.wall_ms));
      console.log(
        `| ${name} | ${(wall / 1000).toFixed(2)} | ${(wall / base).toFixed(1)}x | ${
          (median(list.map((s) => s.peak_kib)) / 1024).toFixed(0)
        } |`,
      );
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
