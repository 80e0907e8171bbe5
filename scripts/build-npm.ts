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
import { nodeEntrySource } from "../src/launch.ts";

/** The published package's name and bin. */
export const PACKAGE_NAME = "@telemhq/claude-code";
export const BIN_NAME = "telemhq-claude-code";

function outDir(args: string[]): string {
  const index = args.indexOf("--out");
  return index === -1 ? `${ROOT}npm` : args[index + 1];
}

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
  Deno.writeTextFileSync(`${out}/bin/${BIN_NAME}.mjs`, nodeEntrySource("hook.mjs"), { mode: 0o755 });
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
