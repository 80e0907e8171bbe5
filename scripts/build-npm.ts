/**
 * Builds the npm package for Node users (and npx/bunx) into npm/, from the
 * same hook.ts: the hook bundled as one self-contained ES module that is also
 * the bin (it runs when Node runs it, and only exports when imported), its
 * .d.ts types, package.json (version from deno.json), README and LICENSE.
 * `npm pack npm/` gives what would be published.
 *
 * Run: deno task build:npm [--out DIR]
 */
import { ROOT } from "./_dev.ts";

/** The published package's name and bin. */
export const PACKAGE_NAME = "@telemhq/claude-code";
export const BIN_NAME = "telemhq-claude-code";

function outDir(args: string[]): string {
  const index = args.indexOf("--out");
  return index === -1 ? `${ROOT}npm` : args[index + 1];
}

/**
 * The bin. It enables Node's compile cache (22.1+) before it loads the hook: a cached compile spares
 * each hook process a few milliseconds, more than the rest of the bin costs. The cache runs code, so it
 * lives only in the user's private state folder, `<state>/node-compile-cache`, and only when that folder,
 * the state folder and every folder above them are safe (Node's default, a shared folder under /tmp, lets
 * another local user plant code; see the README's security model). Plain JavaScript: it runs before the hook.
 */
export const BIN_SOURCE: string = `#!/usr/bin/env node
// The TelemHQ hook for Claude Code: see README.md. The hook itself is hook.mjs.
const fs = process.getBuiltinModule?.("node:fs");
const uid = process.getuid?.();

// Folders only this user (or root, above) can change: a compile cache elsewhere could be made to run another's code.
function privateCacheFolder() {
  const env = process.env;
  const absolute = (path) => typeof path === "string" && path.startsWith("/");
  const claudeDir = env.CLAUDE_CONFIG_DIR ? env.CLAUDE_CONFIG_DIR : absolute(env.HOME) ? env.HOME + "/.claude" : "";
  const state = (env.TELEMHQ_STATE_DIR || claudeDir + "/telemhq").replace(/\\/+$/, "");
  if (fs === undefined || uid === undefined || !absolute(state)) return undefined;
  const ours = (path, exact) => {
    const stat = fs.lstatSync(path, { throwIfNoEntry: false });
    if (stat === undefined || !stat.isDirectory()) return false;
    if (exact) return stat.uid === uid && (stat.mode & 0o077) === 0;
    return (stat.uid === uid || stat.uid === 0) && ((stat.mode & 0o022) === 0 || (stat.mode & 0o1000) !== 0);
  };
  for (let end = state.lastIndexOf("/"); end > 0; end = state.lastIndexOf("/", end - 1)) {
    if (!ours(state.slice(0, end), false)) return undefined;
  }
  if (!ours(state, true)) return undefined;
  const cache = state + "/node-compile-cache";
  if (fs.lstatSync(cache, { throwIfNoEntry: false }) === undefined) fs.mkdirSync(cache, { mode: 0o700 });
  return ours(cache, true) ? cache : undefined;
}

try {
  const cache = privateCacheFolder();
  if (cache !== undefined) process.getBuiltinModule?.("node:module")?.enableCompileCache?.(cache);
} catch {
  // No cache: the hook only runs a few milliseconds slower.
}
const { runCommandLine } = await import("./hook.mjs");
await runCommandLine();
`;

/** Builds the package into `out` (replacing what was there); returns its folder. */
export async function buildNpm(out: string): Promise<string> {
  const deno = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  await Deno.remove(out, { recursive: true }).catch(() => {});
  Deno.mkdirSync(`${out}/bin`, { recursive: true });
  const bin = `${out}/bin/hook.mjs`;
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", "--format", "esm", "--declaration", "-o", bin, `${ROOT}hook.ts`],
    // deno bundle fetches esbuild from the npm registry: trust the system's CAs too, as npm does (a company proxy).
    env: { DENO_TLS_CA_STORE: Deno.env.get("DENO_TLS_CA_STORE") ?? "system,mozilla" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!bundle.success) throw new Error("Cannot build the npm package: deno bundle failed (see above).");
  // The bundle keeps hook.ts's Deno shebang: Node users run it with Node. It runs when Node runs
  // it (install copies it as the hook), and only exports when imported.
  const code = Deno.readTextFileSync(bin).replace(/^#!.*\n/, "");
  Deno.writeTextFileSync(bin, `#!/usr/bin/env node\n${code}`, { mode: 0o755 });
  Deno.writeTextFileSync(`${out}/bin/${BIN_NAME}.mjs`, BIN_SOURCE, { mode: 0o755 });
  const manifest = {
    name: PACKAGE_NAME,
    version: deno.version,
    description:
      "The Claude Code hook for TelemHQ: privacy-safe metadata pings (turns, failures, tools, exact tokens and cost).",
    license: deno.license,
    type: "module",
    bin: { [BIN_NAME]: `bin/${BIN_NAME}.mjs` },
    exports: { ".": { types: "./bin/hook.d.mts", import: "./bin/hook.mjs" } },
    types: "./bin/hook.d.mts",
    files: ["bin/", "README.md", "LICENSE"],
    engines: { node: ">=20" },
    keywords: ["claude-code", "hooks", "telemetry", "telemhq"],
    repository: { type: "git", url: "git+https://github.com/telemhq/claude-code-hook.git" },
  };
  Deno.writeTextFileSync(`${out}/package.json`, JSON.stringify(manifest, null, 2) + "\n");
  Deno.copyFileSync(`${ROOT}README.md`, `${out}/README.md`);
  Deno.copyFileSync(`${ROOT}LICENSE`, `${out}/LICENSE`);
  return out;
}

if (import.meta.main) {
  const out = await buildNpm(outDir(Deno.args));
  console.log(`Built ${PACKAGE_NAME} into ${out}: npm pack it to see what would be published.`);
}
