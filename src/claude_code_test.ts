import assert from "node:assert/strict";
import { pinnedClaudeBinary, ROOT } from "../scripts/_dev.ts";
import {
  claudeCodeInUse,
  findClaudeCode,
  HOOK_EVENT_SINCE,
  ignoredEvents,
  knowsEvent,
  settingsRejection,
} from "./claude_code.ts";
import { INSTALL_EVENTS } from "./events.ts";
import type { Runtime } from "./runtime.ts";
import { detectRuntime } from "./runtime_detect.ts";

/** The hook events a release's own code lists: the longest array of names holding "PreToolUse". */
async function eventsInCode(file: string): Promise<string[]> {
  const grep = await new Deno.Command("grep", {
    args: ["-aohE", '\\[("[A-Z][A-Za-z]+",)*"PreToolUse"(,"[A-Z][A-Za-z]+")*\\]', file],
    stdout: "piped",
  }).output();
  const arrays = new TextDecoder().decode(grep.stdout).split("\n").filter(Boolean).map((line) => JSON.parse(line));
  return arrays.sort((a, b) => b.length - a.length)[0].sort();
}

function knownBy(version: string): string[] {
  return Object.keys(HOOK_EVENT_SINCE).filter((event) => knowsEvent(event, version)).sort();
}

Deno.test("HOOK_EVENT_SINCE is what scripts/probe-hook-events.ts recorded from the releases on npm", () => {
  const recorded = JSON.parse(Deno.readTextFileSync(`${ROOT}test/data/claude-code-versions/hook-events.json`));
  assert.deepEqual(HOOK_EVENT_SINCE, recorded);
});

Deno.test("the table gives the pinned Claude Code 2.1.332 exactly the events its code lists", async () => {
  assert.deepEqual(knownBy("2.1.332"), await eventsInCode(pinnedClaudeBinary()));
});

Deno.test("the table gives Claude Code 2.0.77 exactly the events its cli.js lists", async () => {
  const cli = `${ROOT}tools/claude-code-2.0.77/node_modules/@anthropic-ai/claude-code/cli.js`;
  assert.deepEqual(knownBy("2.0.77"), await eventsInCode(cli));
});

Deno.test("without a version, only events every Claude Code that runs hooks knows count (Stop, PostToolUse)", () => {
  const wired = [...INSTALL_EVENTS.always, ...INSTALL_EVENTS.toolActivity].map(([event]) => event);
  assert.deepEqual(wired.filter((event) => knowsEvent(event, undefined)), ["Stop", "PostToolUse"]);
  assert.equal(knowsEvent("NotAnEvent", "9.9.9"), false);
  assert.equal(knowsEvent("constructor", "9.9.9"), false);
});

Deno.test("settingsRejection() names what makes 2.1.100 and older skip a whole file, and nothing from 2.1.101", () => {
  const entry = (extra: Record<string, unknown> = {}) => [{ hooks: [{ type: "command", command: "true", ...extra }] }];
  assert.match(
    settingsRejection({ hooks: { Stop: entry(), StopFailure: entry() } }, "2.1.77")!,
    /"StopFailure".*2\.1\.78/,
  );
  assert.equal(settingsRejection({ hooks: { Stop: entry(), StopFailure: entry() } }, "2.1.78"), undefined);
  assert.match(settingsRejection({ hooks: { Bogus: entry() } }, "2.1.100")!, /"Bogus", which Claude Code 2\.1\.100/);
  assert.equal(settingsRejection({ hooks: { Bogus: entry() } }, "2.1.101"), undefined);
  assert.match(settingsRejection({ hooks: { Stop: entry({ timeout: 0 }) } }, "2.0.77")!, /timeout/);
  assert.match(settingsRejection({ hooks: { Stop: entry({ type: "http" }) } }, "2.0.77")!, /type "http"/);
  assert.equal(settingsRejection({ hooks: { Stop: entry({ async: true, once: true }) } }, "2.0.77"), undefined);
  // 2.0.77's schema wants a list of groups, each with a string matcher (if any) and a list of hooks.
  assert.match(settingsRejection({ hooks: { Stop: "x" } }, "2.0.77")!, /not a list/);
  assert.match(settingsRejection({ hooks: { Stop: [{ matcher: 5, hooks: [] }] } }, "2.0.77")!, /matcher/);
  assert.match(settingsRejection({ hooks: { Stop: [{ matcher: "*" }] } }, "2.0.77")!, /"hooks" is not a list/);
  assert.match(settingsRejection({ hooks: { Stop: [{ hooks: [{ command: "x" }] }] } }, "2.0.77")!, /without a type/);
  for (const odd of [undefined, null, 1, "x", [], { hooks: null }, { hooks: [] }]) {
    assert.equal(settingsRejection(odd, "2.0.77"), undefined, JSON.stringify(odd));
  }
  assert.deepEqual(ignoredEvents({ hooks: { Stop: [], Nope: [] } }, "2.1.332"), ['"Nope"']);
  // A name from a repository's file never reaches a terminal raw.
  const hostile = settingsRejection({ hooks: { "X\u001b]0;PWNED\u0007\u009b": [] } }, "2.0.77")!;
  // deno-lint-ignore no-control-regex -- the characters it looks for
  assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(hostile), hostile);
  // From 2.1.101, a bad entry still blocks the file under the events that guard permissions.
  assert.match(
    settingsRejection(
      { hooks: { PreToolUse: [{ hooks: [{ type: "command", command: "x", timeout: 0 }] }] } },
      "2.1.332",
    )!,
    /timeout/,
  );
  assert.equal(
    settingsRejection({ hooks: { Stop: [{ hooks: [{ type: "command", command: "x", timeout: 0 }] }] } }, "2.1.332"),
    undefined,
  );
  assert.match(
    settingsRejection({ hooks: { Stop: [{ hooks: [{ type: "command", timeout: 1e999 }] }] } }, "2.0.77")!,
    /command string|timeout/,
  );
  assert.match(settingsRejection({ permissions: { allow: "x" } }, "2.0.77")!, /permissions\.allow/);
  assert.match(
    settingsRejection({ hooks: { Stop: [{ hooks: [{ type: "command", command: "x", once: "yes" }] }] } }, "2.0.77")!,
    /once/,
  );
});

/** A runtime whose environment is only what the test gives. */
function withEnv(env: Record<string, string>): Runtime {
  return { ...detectRuntime(), env: (name: string) => env[name] };
}

Deno.test("findClaudeCode() reads each installer's layout from its files, never running what it can read", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-claude-find-" });
  try {
    // The native installer: ~/.local/bin/claude -> ~/.local/share/claude/versions/2.1.200.
    Deno.mkdirSync(`${home}/.local/share/claude/versions`, { recursive: true });
    Deno.mkdirSync(`${home}/.local/bin`, { recursive: true });
    Deno.writeTextFileSync(`${home}/.local/share/claude/versions/2.1.200`, "#!/bin/sh\nexit 99\n", { mode: 0o755 });
    Deno.symlinkSync(`${home}/.local/share/claude/versions/2.1.200`, `${home}/.local/bin/claude`);
    // npm up to 2.1.112: bin -> cli.js, whose header says the version.
    const old = `${home}/npm/lib/node_modules/@anthropic-ai/claude-code`;
    Deno.mkdirSync(old, { recursive: true });
    Deno.mkdirSync(`${home}/npm/bin`, { recursive: true });
    Deno.writeTextFileSync(`${old}/cli.js`, "#!/usr/bin/env node\n// (c) Anthropic\n\n// Version: 2.0.77\n", {
      mode: 0o755,
    });
    Deno.symlinkSync(`${old}/cli.js`, `${home}/npm/bin/claude`);
    // npm from 2.1.113: bin/claude.exe beside package.json.
    const npm = `${home}/npm2/node_modules/@anthropic-ai/claude-code`;
    Deno.mkdirSync(`${npm}/bin`, { recursive: true });
    Deno.mkdirSync(`${home}/npm2/bin`, { recursive: true });
    Deno.writeTextFileSync(`${npm}/package.json`, '{"name":"@anthropic-ai/claude-code","version":"2.1.300"}');
    Deno.writeTextFileSync(`${npm}/bin/claude.exe`, "#!/bin/sh\nexit 99\n", { mode: 0o755 });
    Deno.symlinkSync(`${npm}/bin/claude.exe`, `${home}/npm2/bin/claude`);
    // An unknown layout answers --version; a lying package.json is not believed.
    Deno.mkdirSync(`${home}/other/bin`, { recursive: true });
    Deno.writeTextFileSync(`${home}/other/bin/claude`, "#!/bin/sh\necho '2.1.90 (Claude Code)'\n", { mode: 0o755 });
    // Only the first on PATH (what a shell runs) is asked for --version.
    const env = { HOME: home, PATH: `${home}/other/bin:${home}/npm/bin:${home}/npm2/bin:relative/bin` };
    const found = await findClaudeCode(withEnv(env), `${home}/.claude`);
    assert.deepEqual(found, [
      { path: `${home}/other/bin/claude`, version: "2.1.90" },
      { path: `${home}/npm/bin/claude`, version: "2.0.77" },
      { path: `${home}/npm2/bin/claude`, version: "2.1.300" },
      { path: `${home}/.local/bin/claude`, version: "2.1.200" },
    ]);
    // A claude that cannot say its version may be the oldest: then nothing is assumed.
    const unsure = { HOME: home, PATH: `${home}/npm/bin:${home}/other/bin` };
    const inUnsure = await claudeCodeInUse(withEnv(unsure), `${home}/.claude`);
    assert.equal(inUnsure.version, undefined);
    assert.match(inUnsure.description, /other\/bin\/claude, but its version could not be read/);
    const inUse = await claudeCodeInUse(withEnv(env), `${home}/.claude`);
    assert.equal(inUse.version, "2.0.77", "the oldest counts: a settings file must load in each");
    assert.match(
      inUse.description,
      /^2\.0\.77 \(.*\/npm\/bin\/claude\); also .*2\.1\.90 .*: the oldest counts$/,
    );
    assert.equal((await claudeCodeInUse(withEnv({ HOME: home, PATH: "" }), `${home}/.claude`)).version, "2.1.200");
    const none = await claudeCodeInUse(withEnv({ HOME: `${home}/empty`, PATH: "" }), `${home}/empty/.claude`);
    assert.equal(none.version, undefined);
    assert.match(none.description, /^not found/);
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});
