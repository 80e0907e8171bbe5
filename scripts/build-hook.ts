/**
 * Assembles `hook.ts`, the one file users install, from the modules in
 * `src/`: each module in the order below, under a banner, with its relative
 * imports removed. Only the names `mod.ts` re-exports stay exported; every
 * other export of a module is internal to the file.
 *
 * `deno task build:hook` writes hook.ts; `--check` fails when the committed
 * hook.ts differs from what it would write.
 *
 * @module
 */

import { stripTypeScriptTypes } from "node:module";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * The modules in the order hook.ts holds them: the story of one event (read
 * it, build the ping, spool it, read its usage, deliver it, the hook that
 * does all that), then the commands. This list is the map of hook.ts, and
 * its rule: a module uses only modules before it (types included), so there
 * are no cycles; test/design.test.ts holds it.
 */
export const MODULES: readonly string[] = [
  "input.ts",
  "events.ts",
  "sha256.ts",
  "fields.ts",
  "paths.ts",
  "payload.ts",
  "runtime.ts",
  "runtime_deno.ts",
  "runtime_process.ts",
  "runtime_detect.ts",
  "files.ts",
  "git_repo.ts",
  "state_dir.ts",
  "config.ts",
  "ping_url.ts",
  "destination.ts",
  "launch.ts",
  "launcher.ts",
  "spool.ts",
  "lock.ts",
  "send.ts",
  "trackers.ts",
  "journal.ts",
  "transcript.ts",
  "catalog.ts",
  "price_eras.ts",
  "legacy_prices.ts",
  "prices.ts",
  "usage.ts",
  "ledger.ts",
  "attempts.ts",
  "sender.ts",
  "run_hook.ts",
  "cli_args.ts",
  "settings.ts",
  "policy.ts",
  "marketplace.ts",
  "policy_file.ts",
  "claude_code.ts",
  "install_record.ts",
  "install_plan.ts",
  "install.ts",
  "uninstall.ts",
  "doctor.ts",
  "report.ts",
  "cli.ts",
];

const HEADER = `#!/usr/bin/env -S deno run --no-config --no-lock -A
/**
 * The TelemHQ hook for Claude Code: reads one hook event from stdin and sends
 * a privacy-safe metadata ping to the TelemHQ tracker.
 *
 * One self-contained file on purpose (users curl-install it, and can read all
 * of it): it uses web-standard APIs and \`node:\` built-ins only, and runs
 * unchanged under Deno, Bun and Node 22.18+ (erasable TypeScript only).
 * Imported as a module it only exports its building blocks; run as the main
 * module it runs the hook, or a command (see \`--help\`).
 *
 * GENERATED from the modules in src/ by \`deno task build:hook\`: edit those,
 * not this file. Its parts, in order:
 *
@@MAP@@
 *
 * @module
 */
`;

/** The first sentence of a module's doc comment. */
function summary(doc: string): string {
  const text = doc.replace(/\s+/g, " ").trim();
  const end = text.search(/[.:](\s|$)/);
  return end < 0 ? text : text.slice(0, end);
}

interface Module {
  name: string;
  doc: string;
  body: string;
}

/** Splits a module into its doc comment (as plain text) and its code without relative imports. */
function readModule(name: string): Module {
  const source = Deno.readTextFileSync(`${ROOT}src/${name}`);
  const docMatch = source.match(/^\/\*\*\n([\s\S]*?)\n \*\/\n/);
  if (docMatch === null || !docMatch[1].includes("@module")) {
    throw new Error(`src/${name} must open with a module doc comment (@module)`);
  }
  const doc = docMatch[1].split("\n").map((line) => line.replace(/^ \* ?/, "")).filter((line) => line !== "@module")
    .join("\n").trim();
  let body = source.slice(docMatch[0].length);
  body = body.replace(/^import\s[^;]*?\sfrom\s*"([^"]+)";\n/gm, (_statement, specifier: string) => {
    if (!specifier.startsWith("./")) {
      throw new Error(
        `src/${name} imports "${specifier}": src modules import only each other (node: built-ins lazily)`,
      );
    }
    return "";
  });
  if (/^import\s/m.test(body)) throw new Error(`src/${name} has an import the assembler cannot remove`);
  return { name, doc, body: body.trim() };
}

/** The names mod.ts re-exports from hook.ts: the public face; every other export is internal. */
function publicNames(): Set<string> {
  const mod = Deno.readTextFileSync(`${ROOT}mod.ts`);
  if (/export\s*\*/.test(mod)) throw new Error("mod.ts must name what it re-exports: no `export *`");
  const names = new Set<string>();
  for (const match of mod.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*"\.\/hook\.ts"/g)) {
    // Comments group the names (`// The spool and its sender.`): they are not names.
    const list = match[1].replace(/\/\/[^\n]*/g, "");
    for (const name of list.split(",").map((part) => part.trim()).filter((part) => part !== "")) {
      names.add(name.replace(/^type\s+/, ""));
    }
  }
  return names;
}

/** A top-level declaration, with the JSDoc comment before it if it has one. */
const DECLARATION =
  /^(\/\*\*(?:(?!\*\/)[\s\S])*?\*\/\n)?(export )?((?:async function\*?|function\*?|const|let|class|interface|type) ([A-Za-z_$][\w$]*))/gm;

/** An `@example` section of a JSDoc comment: dropped from internal names, whose examples need names users cannot import. */
const EXAMPLE = /^ \* @example\n(?: \*(?! @|\/)[^\n]*\n)*/gm;

/**
 * Builds hook.ts's text.
 *
 * @returns The file's text, formatted as `deno fmt` would.
 */
export async function assembleHook(): Promise<string> {
  const exported = publicNames();
  const found = new Set<string>();
  const declaredIn = new Map<string, string>();
  const modules = MODULES.map(readModule);
  const parts = modules.map((module) => {
    const body = module.body.replace(
      DECLARATION,
      (_all, doc: string | undefined, keyword: string | undefined, declaration: string, name: string) => {
        const other = declaredIn.get(name);
        if (other !== undefined) {
          throw new Error(`src/${module.name} and src/${other} both declare ${name}: rename one`);
        }
        declaredIn.set(name, module.name);
        if (keyword === undefined) return `${doc ?? ""}${declaration}`;
        if (exported.has(name)) {
          found.add(name);
          return `${doc ?? ""}${keyword}${declaration}`;
        }
        return `${(doc ?? "").replace(EXAMPLE, "")}${declaration}`;
      },
    );
    const leftover = body.match(/^export\b.*$/gm)?.find((line) =>
      !line.match(/^export (?:async function\*?|function\*?|const|let|class|interface|type) ([A-Za-z_$][\w$]*)/)
    );
    if (leftover !== undefined) throw new Error(`src/${module.name}: the assembler cannot handle "${leftover}"`);
    const banner = [
      "// ---------------------------------------------------------------------------",
      `// src/${module.name}`,
      "//",
      ...module.doc.split("\n").map((line) => (line === "" ? "//" : `// ${line}`)),
    ].join("\n");
    return `${banner}\n\n${body}\n`;
  });
  const missing = [...exported].filter((name) => !found.has(name));
  if (missing.length > 0) throw new Error(`mod.ts re-exports names no src module exports: ${missing.join(", ")}`);
  const width = Math.max(...MODULES.map((name) => name.length));
  const map = modules.map((module, index) =>
    ` * ${String(index + 1).padStart(2)}. src/${module.name.padEnd(width)}  ${summary(module.doc)}.`
  ).join("\n");
  return await format(HEADER.replace("@@MAP@@", map) + "\n" + parts.join("\n"));
}

async function format(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--config", `${ROOT}deno.json`, "--ext", "ts", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  if (!output.success) {
    throw new Error(`deno fmt refused the assembled hook.ts: ${new TextDecoder().decode(output.stderr)}`);
  }
  return new TextDecoder().decode(output.stdout);
}

/**
 * The generated files: hook.ts; hook.mjs (the same, types stripped) and hook-node.mjs (what Node starts it
 * through, with a private compile cache), the plugin's Node route; and the plugin's launcher.
 */
async function generatedFiles(): Promise<{ path: string; name: string; text: string }[]> {
  const { launcherScript } = await import("../src/launcher.ts");
  const { javascriptOf, nodeEntrySource } = await import("../src/launch.ts");
  const hook = await assembleHook();
  return [
    { path: `${ROOT}hook.ts`, name: "hook.ts", text: hook },
    { path: `${ROOT}hook.mjs`, name: "hook.mjs", text: javascriptOf(hook, stripTypeScriptTypes) },
    { path: `${ROOT}hook-node.mjs`, name: "hook-node.mjs", text: nodeEntrySource("hook.mjs") },
    { path: `${ROOT}hooks/telemhq.sh`, name: "hooks/telemhq.sh", text: launcherScript() },
  ];
}

async function main(args: string[]): Promise<number> {
  const files = await generatedFiles();
  if (args.includes("--check")) {
    let stale = 0;
    for (const file of files) {
      const committed = await Deno.readTextFile(file.path).catch(() => "");
      if (committed !== file.text) {
        console.error(`${file.name} differs from what src/ generates: run \`deno task build:hook\` and commit it.`);
        stale++;
      }
    }
    return stale === 0 ? 0 : 1;
  }
  for (const file of files) await Deno.writeTextFile(file.path, file.text);
  const hook = files[0].text;
  console.log(
    `Wrote hook.ts: ${
      hook.split("\n").length
    } lines from ${MODULES.length} modules in src/; hook.mjs; hook-node.mjs; hooks/telemhq.sh.`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
