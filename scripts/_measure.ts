// What the benchmarks share: one measured run of a command, and medians.
import { ROOT } from "./_dev.ts";

/** One run, as scripts/_measure.py reports it. */
export interface Sample {
  code: number;
  wall_ms: number;
  cpu_ms: number;
  peak_kib: number;
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Runs a command once with a file on stdin and measures it: wall time, CPU
 * time and peak memory, through scripts/_measure.py (getrusage of the child).
 */
export async function measureCommand(
  command: string[],
  stdin: string,
  env: Record<string, string>,
  label = command.join(" "),
  cwd?: string,
): Promise<Sample> {
  const output = await new Deno.Command("python3", {
    args: [`${ROOT}scripts/_measure.py`, stdin, ...command],
    env,
    cwd,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const sample = JSON.parse(new TextDecoder().decode(output.stdout)) as Sample;
  if (sample.code !== 0) throw new Error(`"${label}" exited ${sample.code}`);
  return sample;
}

/** `--runs N` from the arguments, within bounds. */
export function parseRuns(args: string[], fallback: number, max: number): number {
  const index = args.indexOf("--runs");
  const runs = index === -1 ? fallback : Number(args[index + 1]);
  if (!Number.isInteger(runs) || runs < 3 || runs > max) {
    throw new Error(`Cannot use --runs "${args[index + 1]}": give a whole number from 3 to ${max}`);
  }
  return runs;
}

/**
 * A new private folder for one run under `~/.cache/telemhq-bench`, removed again on Ctrl-C or SIGTERM as after a
 * normal run. That folder must be this user's own and private (not a symlink, not writable by others): the runs put a
 * loopback token and hook copies there. What a run killed outright left there is removed after an hour (a bench run
 * takes minutes, so a run still going is never touched).
 */
export function benchFolder(): string {
  const home = Deno.env.get("HOME");
  if (home === undefined || !home.startsWith("/")) throw new Error("Cannot run the bench: HOME is not set");
  const parent = `${home}/.cache/telemhq-bench`;
  Deno.mkdirSync(parent, { recursive: true, mode: 0o700 });
  // The folder and the two above it (~/.cache, ~): each a folder (no symlink) of this user's that others cannot write.
  for (const path of [parent, `${home}/.cache`, home]) {
    const facts = Deno.lstatSync(path);
    if (!facts.isDirectory || facts.uid !== Deno.uid() || (facts.mode! & 0o022) !== 0) {
      throw new Error(
        `Cannot run the bench in "${parent}": "${path}" must be a folder of yours that others cannot write (not a ` +
          "symlink). Fix it, then run the bench again.",
      );
    }
  }
  for (const entry of Deno.readDirSync(parent)) {
    const path = `${parent}/${entry.name}`;
    const old = Date.now() - (Deno.lstatSync(path).mtime?.getTime() ?? Date.now()) > 3_600_000;
    if (entry.name.startsWith("run-") && entry.isDirectory && old) Deno.removeSync(path, { recursive: true });
  }
  const work = Deno.makeTempDirSync({ dir: parent, prefix: "run-" });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      Deno.removeSync(work, { recursive: true });
      Deno.exit(130);
    });
  }
  return work;
}
