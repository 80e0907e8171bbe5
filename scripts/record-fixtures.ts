/**
 * Records fresh fixtures from the real Claude Code: runs each scripted scenario
 * of the Messages API stand-in with `claude -p`, and keeps every hook event
 * (events.jsonl), the transcripts (home/.claude/projects/...) and the usage the
 * stand-in returned per request (api-usage.jsonl, the ground truth). Paths are
 * rewritten to /home/dev so the fixtures do not depend on where they were made.
 *
 * Run: deno task record:fixtures            (the pinned Claude Code)
 *      CLAUDE_BINARY=/path/to/claude deno task record:fixtures
 * Writes: test/fixtures/claude-code-<version>/<scenario>/
 */
import { startAnthropicStandIn } from "./_anthropic_standin.ts";
import { claudeBinary, newSession, recordedEvents, recorderCommand, runClaude, writeSettings } from "./_claude.ts";
import { ROOT } from "./_dev.ts";

/** Each scenario's prompts, in order; a second prompt resumes the first one's session. */
const SCENARIO_PROMPTS: Readonly<Record<string, readonly string[]>> = {
  "plain": ["hello SCENARIO:plain SECRET_PROMPT"],
  "tools": ["please SCENARIO:tools SECRET_PROMPT do it"],
  "subagent": ["delegate SCENARIO:subagent SECRET_PROMPT"],
  "stop-failure": ["this fails SCENARIO:stop-failure SECRET_PROMPT"],
  "two-turns": ["turn one SCENARIO:two-turns-1 SECRET_PROMPT_1", "turn two SCENARIO:two-turns-2 SECRET_PROMPT_2"],
};

const PORTABLE_HOME = "/home/dev";

async function claudeVersion(): Promise<string> {
  const output = await new Deno.Command(claudeBinary(), { args: ["--version"], stdout: "piped", stderr: "null" })
    .output();
  const version = new TextDecoder().decode(output.stdout).match(/\d+\.\d+\.\d+/)?.[0];
  if (!version) throw new Error(`Cannot read the version of "${claudeBinary()}": is it Claude Code?`);
  return version;
}

function copyTree(from: string, to: string, rewrite: (text: string) => string): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const entry of Deno.readDirSync(from)) {
    const target = `${to}/${rewrite(entry.name)}`;
    if (entry.isDirectory) copyTree(`${from}/${entry.name}`, target, rewrite);
    else if (entry.isFile) Deno.writeTextFileSync(target, rewrite(Deno.readTextFileSync(`${from}/${entry.name}`)));
  }
}

async function recordScenario(scenario: string, prompts: readonly string[], outDir: string): Promise<void> {
  const api = await startAnthropicStandIn(scenario.replaceAll("-", ""));
  const session = newSession();
  const firedDir = `${session.home}/fired`;
  Deno.mkdirSync(firedDir);
  writeSettings(session.settings, [recorderCommand(firedDir)]);
  // Claude Code names a project's transcript folder after its path, with "/" and "." turned into "-".
  const encoded = (path: string) => path.replaceAll(/[/.]/g, "-");
  const rewrite = (text: string) =>
    text.replaceAll(session.home, PORTABLE_HOME).replaceAll(encoded(session.home), encoded(PORTABLE_HOME));
  try {
    let sessionId: string | undefined;
    for (const prompt of prompts) {
      const run = await runClaude(session, { prompt, apiUrl: api.url, resume: sessionId });
      sessionId ??= run.sessionId;
    }
  } finally {
    await api.close();
  }
  const dir = `${outDir}/${scenario}`;
  // A fresh recording replaces the old one whole.
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  Deno.mkdirSync(dir, { recursive: true });
  const events = recordedEvents(firedDir).map((event) => rewrite(JSON.stringify(event)));
  Deno.writeTextFileSync(`${dir}/events.jsonl`, events.join("\n") + "\n");
  Deno.writeTextFileSync(`${dir}/api-usage.jsonl`, api.usage.map((record) => JSON.stringify(record)).join("\n") + "\n");
  copyTree(`${session.home}/.claude/projects`, `${dir}/home/.claude/projects`, rewrite);
  Deno.removeSync(session.home, { recursive: true });
  console.log(`${scenario}: ${events.length} events, ${api.usage.length} API requests`);
}

async function main(): Promise<void> {
  const outDir = `${ROOT}test/fixtures/claude-code-${await claudeVersion()}`;
  for (const [scenario, prompts] of Object.entries(SCENARIO_PROMPTS)) await recordScenario(scenario, prompts, outDir);
  console.log(`Recorded into ${outDir.slice(ROOT.length)}`);
}

if (import.meta.main) await main();
