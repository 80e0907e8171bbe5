// Rules of the design that no compiler checks.
import assert from "node:assert/strict";
import * as hook from "../hook.ts";
import * as mod from "../mod.ts";
import { ROOT } from "./_helpers.ts";

const hookSource = Deno.readTextFileSync(`${ROOT}hook.ts`);
const readme = Deno.readTextFileSync(`${ROOT}README.md`);

Deno.test("hook.ts is one self-contained file: it imports nothing but node: built-ins", () => {
  const specifiers = [...hookSource.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm)]
    .map((match) => match[1]);
  const dynamic = [...hookSource.matchAll(/\bimport\(\s*["']([^"']+)["']/g)].map((match) => match[1]);
  for (const specifier of [...specifiers, ...dynamic]) {
    assert.match(specifier, /^node:/, `hook.ts imports ${specifier}`);
  }
});

Deno.test("mod.ts re-exports every value hook.ts exports", () => {
  assert.deepEqual(Object.keys(mod).sort(), Object.keys(hook).sort());
});

Deno.test("hook.ts's version is deno.json's version", () => {
  assert.equal(hook.HOOK_VERSION, JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).version);
});

Deno.test("the README's table of what leaves the machine lists exactly the Payload fields", () => {
  const section = readme.split("## What leaves the machine")[1]?.split("\n## ")[0];
  assert.ok(section, "the README has no 'What leaves the machine' section");
  const documented = [...section.matchAll(/^\| `([a-z_]+)`\s+\|/gm)].map((match) => match[1]).sort();
  // The Payload interface in hook.ts is the allowlist: every field it declares, and no other.
  const declared = [
    ...hookSource.split("export interface Payload {")[1].split("\n}")[0].matchAll(/^ {2}([a-z_]+)\??:/gm),
  ]
    .map((match) => match[1]).sort();
  assert.deepEqual(documented, declared);
});

Deno.test("the README's quick start is two commands, and .ci/run runs its test command", () => {
  const quickStart = readme.split("## Quick start")[1]?.split("\n## ")[0] ?? "";
  const block = quickStart.match(/```(?:sh|bash)?\n([\s\S]*?)```/)?.[1] ?? "";
  const commands = block.split("\n").filter((line) => line.trim() !== "" && !line.trim().startsWith("#"));
  assert.equal(commands.length, 2, `quick start commands: ${JSON.stringify(commands)}`);
  const ci = Deno.readTextFileSync(`${ROOT}.ci/run`);
  assert.ok(ci.includes(commands[1].trim()), `.ci/run does not run "${commands[1]}"`);
});
