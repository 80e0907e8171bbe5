// Rules of the design that no compiler checks.
import assert from "node:assert/strict";
import * as hook from "../hook.ts";
import * as mod from "../mod.ts";
import { assembleHook, MODULES } from "../scripts/build-hook.ts";
import { ROOT, runProcess } from "./_helpers.ts";

const hookSource = Deno.readTextFileSync(`${ROOT}hook.ts`);
const readme = Deno.readTextFileSync(`${ROOT}README.md`);
const docFiles = [...Deno.readDirSync(`${ROOT}docs`)]
  .map((entry) => `docs/${entry.name}`)
  .filter((name) => name.endsWith(".md"))
  .sort();
const sourceModules = [...Deno.readDirSync(`${ROOT}src`)]
  .map((entry) => entry.name)
  .filter((name) => name.endsWith(".ts") && !name.endsWith("_test.ts"))
  .sort();

Deno.test("hook.ts is what `deno task build:hook` assembles from src/ (edit src/, then rebuild)", async () => {
  assert.ok(hookSource === await assembleHook(), "hook.ts is stale: run `deno task build:hook` and commit it");
});

Deno.test("hook.ts holds every src module, each once", () => {
  assert.deepEqual([...MODULES].sort(), sourceModules);
});

Deno.test("every src module opens with what it owns and what it may use, and stays under 600 lines", () => {
  for (const name of sourceModules) {
    const source = Deno.readTextFileSync(`${ROOT}src/${name}`);
    const doc = source.match(/^\/\*\*\n([\s\S]*?)\*\//)?.[1] ?? "";
    assert.match(doc, /Owns: [\s\S]*Uses: [\s\S]*@module/, `src/${name}: its module doc`);
    assert.ok(source.split("\n").length <= 600, `src/${name} has ${source.split("\n").length} lines`);
  }
});

Deno.test("every src module's doc names each module it imports (Uses: ...)", () => {
  for (const name of sourceModules) {
    const source = Deno.readTextFileSync(`${ROOT}src/${name}`);
    const uses = source.match(/Uses: ([\s\S]*?)\n \*\n/)?.[1].replace(/\n \* /g, " ") ?? "";
    for (const match of source.matchAll(/^import\b[^;]*?from "\.\/([a-z_0-9]+)\.ts";/gm)) {
      assert.match(
        uses,
        new RegExp(`\\b${match[1]}\\b`),
        `src/${name} imports ${match[1]}.ts but its doc does not say so`,
      );
    }
  }
});

Deno.test("every src module uses only modules before it in the build order (types too): the map is the code", () => {
  const position = new Map(MODULES.map((name, index) => [name, index]));
  const late: string[] = [];
  for (const name of MODULES) {
    const source = Deno.readTextFileSync(`${ROOT}src/${name}`);
    for (const match of source.matchAll(/^(?:import|export)\b[^;]*?from "\.\/([a-z_0-9]+\.ts)";/gm)) {
      if ((position.get(match[1]) ?? Infinity) >= position.get(name)!) late.push(`${name} uses ${match[1]}`);
    }
  }
  assert.deepEqual(late, [], "a module uses one placed after it (or itself): move it, or what it uses");
});

Deno.test("hook.ts is one self-contained file: it imports nothing but node: built-ins", () => {
  const specifiers = [...hookSource.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm)]
    .map((match) => match[1]);
  const dynamic = [...hookSource.matchAll(/\bimport\(\s*["']([^"']+)["']/g)].map((match) => match[1]);
  for (const specifier of [...specifiers, ...dynamic]) {
    assert.match(specifier, /^node:/, `hook.ts imports ${specifier}`);
  }
});

Deno.test("hook.ts runs unchanged under Node 24 (erasable TypeScript only)", async () => {
  const run = await runProcess([`${ROOT}tools/node_modules/node-24/bin/node`, `${ROOT}hook.ts`, "--help"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^TelemHQ hook for Claude Code/);
});

Deno.test("hook.mjs is hook.ts with its types stripped, line for line, and runs under Node 20", async () => {
  const javascript = Deno.readTextFileSync(`${ROOT}hook.mjs`);
  assert.equal(javascript.split("\n").length, hookSource.split("\n").length + 1, "one comment line more, no other");
  const run = await runProcess(["/usr/bin/node", `${ROOT}hook.mjs`, "--help"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^TelemHQ hook for Claude Code/);
});

Deno.test("mod.ts re-exports every value hook.ts exports", () => {
  assert.deepEqual(Object.keys(mod).sort(), Object.keys(hook).sort());
});

Deno.test("hook.ts's version is deno.json's version", () => {
  assert.equal(hook.HOOK_VERSION, JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).version);
});

Deno.test("docs/fields.md's table of what leaves the machine lists exactly the Payload fields", () => {
  const fields = Deno.readTextFileSync(`${ROOT}docs/fields.md`);
  const section = fields.split("\n## Every field\n")[1]?.split("\n## ")[0];
  assert.ok(section, "docs/fields.md has no 'Every field' section");
  const documented = [...section.matchAll(/^\| `([a-z_]+)`\s+\|/gm)].map((match) => match[1]).sort();
  assert.deepEqual(documented, [...mod.PAYLOAD_FIELDS].sort());
});

Deno.test("the README is a short read whose first screen leads to what leaves the machine, in short and in full", () => {
  const lines = readme.split("\n").length;
  assert.ok(lines <= 250, `README.md has ${lines} lines: keep it under 250, and move the details to docs/`);
  assert.match(readme.split("\n").slice(0, 40).join("\n"), /\]\(#what-leaves-the-machine\)/);
  // The demo's output points to this section by name.
  const section = readme.split("\n## What leaves the machine\n")[1]?.split("\n## ")[0];
  assert.ok(section, "the README has no 'What leaves the machine' section");
  assert.match(section, /\n\|.*\|\n\| -+ \|/, "the README's section has no short table");
  assert.match(section, /\]\(docs\/fields\.md\)/, "the README's section does not link the full field table");
});

/** The anchors GitHub gives a Markdown file's headings. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const match of withoutCodeBlocks(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = match[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replaceAll(" ", "-");
    let anchor = slug;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${slug}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

function withoutCodeBlocks(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, "");
}

Deno.test("every link between the README and docs/ leads to a file that exists, and to a heading in it", () => {
  const broken: string[] = [];
  for (const file of ["README.md", ...docFiles]) {
    const text = withoutCodeBlocks(Deno.readTextFileSync(`${ROOT}${file}`)).replace(/`[^`\n]*`/g, "");
    const folder = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split("#");
      const resolved = path === "" ? file : new URL(path, `file:///${folder}`).pathname.slice(1);
      let markdown: string;
      try {
        markdown = Deno.readTextFileSync(`${ROOT}${resolved}`);
      } catch {
        broken.push(`${file}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined && !headingAnchors(markdown).has(anchor)) {
        broken.push(`${file}: ${target} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

Deno.test("deno task bench:steps still finds the line that ends each step of an event in hook.ts", async () => {
  const { instrumented } = await import("../scripts/bench-steps.ts");
  const copy = instrumented(hookSource);
  assert.match(copy, /^#!.*\nconst __steps: /, "a reading at the first line");
  assert.equal(copy.split("__steps.push(").length - 1, 6, "and one at the end of each of the six steps");
});

Deno.test("scripts never import the tests' helpers", () => {
  for (const entry of Deno.readDirSync(`${ROOT}scripts`)) {
    if (!entry.name.endsWith(".ts")) continue;
    const source = Deno.readTextFileSync(`${ROOT}scripts/${entry.name}`);
    assert.ok(!/from\s*"\.\.\/test\//.test(source), `scripts/${entry.name} imports from test/`);
  }
});

Deno.test("the README's quick start is two commands, and .ci/run runs its test command", () => {
  const quickStart = readme.split("## Quick start")[1]?.split("\n## ")[0] ?? "";
  const block = quickStart.match(/```(?:sh|bash)?\n([\s\S]*?)```/)?.[1] ?? "";
  const commands = block.split("\n").filter((line) => line.trim() !== "" && !line.trim().startsWith("#"));
  assert.equal(commands.length, 2, `quick start commands: ${JSON.stringify(commands)}`);
  const ci = Deno.readTextFileSync(`${ROOT}.ci/run`);
  assert.ok(ci.includes(commands[1].trim()), `.ci/run does not run "${commands[1]}"`);
});

Deno.test("the quick start's demo shows the Stop ping's tokens and cost, and 0 leaked markers", async () => {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-demo-home-" });
  try {
    // `deno task demo` as the quick start runs it, from a HOME with nothing in it.
    const run = await runProcess([Deno.execPath(), "task", "demo"], {
      cwd: ROOT,
      env: { HOME: home, DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno` },
      timeoutMs: 60_000,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^Stop +success .*total_tokens=\d+ .*cost_usd=0\.\d+/m);
    assert.match(run.stdout, /; 0 pings carried any of it\./);
    assert.deepEqual([...Deno.readDirSync(home)].map((entry) => entry.name).filter((name) => name === ".claude"), []);
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});
