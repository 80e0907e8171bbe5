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
): Promise<Sample> {
  const output = await new Deno.Command("python3", {
    args: [`${ROOT}scripts/_measure.py`, stdin, ...command],
    env,
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
