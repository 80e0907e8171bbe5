// Finds, from real releases of @anthropic-ai/claude-code on npm, the first
// version that knows each hook event (and a few hook/plugin features), by
// bisection over the published versions.
//
//   deno task record:hook-events [options]   (about 150 releases downloaded once, then cached: a few minutes)
//
// Options:
//   --out DIR        where hook-events.json, probe-results.json and probe-cache.json go
//                    (default: test/data/claude-code-versions/; src/claude_code.ts's table must equal hook-events.json)
//   --refresh        ignore probe-cache.json (probe every needed version again)
//   --check V[,V..]  only probe these versions and print what each holds (no bisection)
//   --keep           keep the downloaded tarballs/extracted code in DIR/.probe-work (default: deleted)
//   --sweep N        also probe every Nth version (checks the monotone assumption between bisection points)
//
// How a release's code is read:
//   - up to 2.1.112 the package `@anthropic-ai/claude-code@V` ships the whole
//     CLI as one minified JS file, package/cli.js (bin: "cli.js");
//   - from 2.1.113 the package is a thin wrapper (bin/claude.exe is a 500-byte
//     placeholder that install.cjs replaces by copying the native binary out of
//     the optional dependency @anthropic-ai/claude-code-<platform>@V). The native
//     binary is a Bun single-file executable whose bundled JS sits in it as
//     plain text ("/$bunfs/root/..." modules), so it is searched with grep -a.
//     This script reads @anthropic-ai/claude-code-linux-x64@V, file package/claude.
//
// What is extracted from a release:
//   - the hook events it knows: the longest JS array literal of quoted names
//     that contains "PreToolUse" (the constant behind the settings schema's
//     `hooks: partialRecord(enum(HOOK_EVENTS), ...)`), e.g. in 2.0.77
//     `gk=["PreToolUse","PostToolUse","PostToolUseFailure",...,"PermissionRequest"]`;
//   - yes/no markers (regexes over the code) for hook and plugin features, below.
//
// Each event/feature is assumed monotone (absent, then present from some
// version on); the script binary-searches for the first version that has it,
// sharing every probe between searches, and warns if a probed version breaks
// the assumption. Probes are cached in probe-cache.json so reruns are cheap.

const PKG = "@anthropic-ai/claude-code";
const PLATFORM_PKG = "@anthropic-ai/claude-code-linux-x64";

/** Yes/no features, each a regex (grep -E syntax) that the code of a release matches iff it has the feature. */
export const MARKERS: Record<string, { re: string; what: string }> = {
  hooks_async: {
    re: "If true, hook runs in background without blocking",
    what: "`async` field on command hooks in the settings schema",
  },
  hooks_statusMessage: {
    re: "Custom status message to display in spinner while hook runs",
    what: "`statusMessage` field on hooks",
  },
  hooks_once: { re: "If true, hook runs once and is removed after execution", what: "`once` field on hooks" },
  hooks_timeout: {
    // 1.0.x: `H54=d.object({type:d.literal("command"),command:d.string(),timeout:d.number().positive().optional()})`
    re: 'Timeout in seconds for this specific command|literal\\("command"\\),command:[^,]{1,80},timeout:',
    what: "`timeout` on command hooks",
  },
  hooks_runtime: {
    // 1.0.38: `rA(`executePreToolHooks called for tool: ${A}`)` / `Getting matching hook commands for ${A} ...`
    re: "executePreToolHooks|Getting matching hook commands|hook_event_name",
    what: "hooks actually run (hook execution code); before this only the settings schema knew `hooks`",
  },
  hook_input_hook_event_name: {
    re: "hook_event_name",
    what: "the hook input JSON carries hook_event_name",
  },
  settings_flag: {
    re: '"--settings <file',
    what: "`claude --settings <file>` (later `<file-or-json>`)",
  },
  plugin_install_cli: {
    re: "Install a plugin from available marketplaces",
    what: "`claude plugin install <plugin>` CLI command",
  },
  version_output_named: {
    // 1.0.0: .version(`${{...VERSION:"1.0.0"}.VERSION} (${x0})`) with x0="Claude Code"; 0.2.9 printed the bare version
    re: "\\.VERSION\\} \\((Claude Code|\\$\\{[A-Za-z0-9_$]+\\})\\)",
    what: '`claude --version` prints "X.Y.Z (Claude Code)" (before: bare "X.Y.Z")',
  },
  version_fast_path: {
    // 2.0.77: `if(A.length===1&&(A[0]==="--version"||A[0]==="-v"||A[0]==="-V")){w9("cli_version_fast_path"),console.log(...)`
    re: '\\[0\\]==="--version"\\|\\|[A-Za-z0-9_$]+\\[0\\]==="-v"',
    what: "`--version` answered before the CLI loads (fast path)",
  },
  hooks_async_stdout_protocol: {
    // 2.0.77: `if(HEA(P)){let v=`async_hook_${H.pid}`;k(`Hooks: Detected async hook, backgrounding process ${v}`)`
    re: "Detected async hook, backgrounding",
    what: 'a command hook whose first stdout is {"async":true} is backgrounded',
  },
  hooks_type_prompt: { re: "LLM prompt hook type", what: 'type: "prompt" hooks' },
  hooks_type_agent: { re: "Agentic verifier hook type", what: 'type: "agent" hooks' },
  hooks_type_http: { re: "HTTP hook type", what: 'type: "http" hooks' },
  hooks_unknown_event_ignored: {
    re: "[Uu]nknown hook event",
    what: "settings loader drops an unknown hook event key (warning) instead of rejecting the file",
  },
  plugin_hooks_unknown_event_ignored: {
    re: "unknown hook event; entry ignored",
    what:
      "a plugin's hooks.json with an unknown event: only that entry dropped (before: the plugin's hooks file fails)",
  },
  hook_input_prompt_id: {
    // The runtime builder of the common hook input, e.g. 2.1.332
    // `{session_id:e.id,transcript_path:...,cwd:Q,scratchpad_dir:...,prompt_id:xC()??void 0,...}`
    // (a zod schema's `prompt_id:r().optional()` is excluded by the `[^.]`).
    re: "transcript_path:[^{}]{0,200}prompt_id:[A-Za-z0-9_$]+\\(\\)[^.]",
    what: "`prompt_id` in the common hook input (runtime)",
  },
  transcript_promptId: {
    re: 'promptId:[A-Za-z0-9_$]+\\.type==="user"',
    what: "transcript writer puts `promptId` on user lines",
  },
  transcript_subagents_dir: {
    re: '\\(\\),"subagents"\\)',
    what: 'subagent transcripts in <project>/<session>/subagents/ (join(..., sessionId(), "subagents"))',
  },
  usage_cache_creation_1h: {
    re: "ephemeral_1h_input_tokens",
    what: "code knows usage.cache_creation.ephemeral_1h_input_tokens",
  },
  subagentstop_agent_transcript_path: {
    re: "agent_transcript_path",
    what: "SubagentStop input carries agent_transcript_path",
  },
  plugin_cli: { re: 'command\\("plugin"\\)', what: "`claude plugin` CLI command" },
  plugin_marketplace_cli: { re: 'command\\("marketplace"\\)', what: "`claude plugin marketplace` CLI command" },
  plugin_root_env: { re: "CLAUDE_PLUGIN_ROOT", what: "CLAUDE_PLUGIN_ROOT" },
  plugin_data_env: { re: "CLAUDE_PLUGIN_DATA", what: "CLAUDE_PLUGIN_DATA" },
  plugin_option_env: { re: "CLAUDE_PLUGIN_OPTION_", what: "CLAUDE_PLUGIN_OPTION_<KEY> env vars" },
  plugin_userConfig: {
    re: "User-configurable values this plugin needs",
    what: "plugin.json `userConfig` in the plugin manifest schema",
  },
  plugin_userConfig_sensitive: {
    re: "masks dialog input and stores value in secure storage",
    what: "`sensitive` option in plugin userConfig",
  },
};

/** The events the report must cover, also bisected if the newest release lacks one (then: not found). */
export const EXPECTED_EVENTS = [
  "PreToolUse",
  "PostToolUse",
  "PostToolUseFailure",
  "PostToolBatch",
  "Notification",
  "UserPromptSubmit",
  "Stop",
  "StopFailure",
  "SubagentStart",
  "SubagentStop",
  "PreCompact",
  "PostCompact",
  "SessionStart",
  "SessionEnd",
  "PermissionRequest",
  "PermissionDenied",
  "Setup",
];

interface Probe {
  version: string;
  layout: "cli.js" | "native" | "none";
  /** The longest hook-event array in the release, [] if none. */
  events: string[];
  /** Other arrays with "PreToolUse" that hold a name the longest lacks (should stay empty). */
  strayEvents: string[];
  markers: Record<string, boolean>;
  /** The regex each marker was computed with (a cached marker whose regex changed is probed again). */
  markerRe?: Record<string, string>;
  /** Byte size of the code searched. */
  codeBytes: number;
}

interface Args {
  out: string;
  refresh: boolean;
  keep: boolean;
  check?: string[];
  sweep?: number;
}

function parseArgs(argv: string[]): Args {
  const here = new URL("../test/data/claude-code-versions/", import.meta.url).pathname;
  const args: Args = { out: here, refresh: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--out") args.out = argv[++i];
    else if (a === "--refresh") args.refresh = true;
    else if (a === "--keep") args.keep = true;
    else if (a === "--check") args.check = argv[++i].split(",").filter(Boolean);
    else if (a === "--sweep") args.sweep = parseInt(argv[++i], 10);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.out.endsWith("/")) args.out += "/";
  return args;
}

function npmEnvFor(cache: string): Record<string, string> {
  return { npm_config_cache: cache, npm_config_update_notifier: "false", npm_config_fund: "false" };
}

async function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const out = await new Deno.Command(cmd, { args, cwd: opts.cwd, env: opts.env, stdout: "piped", stderr: "piped" })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

async function must(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.slice(0, 2000)}`);
  return r.stdout;
}

class Prober {
  cache: Record<string, Probe> = {};
  downloads = 0;
  constructor(readonly work: string, readonly keep: boolean) {}

  markerNames = Object.keys(MARKERS);

  /** A cached probe that answers `need` ("events", "layout" or a marker name). */
  cached(version: string, need: string): Probe | undefined {
    const p = this.cache[version];
    if (!p) return undefined;
    // A cache entry made before a marker was added does not answer for it.
    if (need === "all") return this.markerNames.every((m) => p.markerRe?.[m] === MARKERS[m].re) ? p : undefined;
    if (need === "events" || need === "layout") return p;
    return need in p.markers && p.markerRe?.[need] === MARKERS[need]?.re ? p : undefined;
  }

  async probe(version: string, need: string): Promise<Probe> {
    const hit = this.cached(version, need);
    if (hit) return hit;
    const t0 = performance.now();
    const dir = `${this.work}${version}/`;
    await Deno.mkdir(dir, { recursive: true });
    this.current = dir;
    try {
      const files = await this.fetchCode(version, dir);
      const probe = await this.scan(version, files.layout, files.paths);
      this.cache[version] = probe;
      console.error(
        `  probed ${version} (${probe.layout}, ${
          (probe.codeBytes / 1e6).toFixed(1)
        } MB code, ${probe.events.length} events) in ${((performance.now() - t0) / 1000).toFixed(1)}s`,
      );
      return probe;
    } finally {
      this.current = undefined;
      if (!this.keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /** The directory of the probe under way (removed on SIGINT/SIGTERM). */
  current: string | undefined;

  /** Downloads the release and returns the code files to search. */
  async fetchCode(version: string, dir: string): Promise<{ layout: Probe["layout"]; paths: string[] }> {
    const tgz = await this.pack(`${PKG}@${version}`, dir);
    const listing = (await must("tar", ["-tzf", tgz])).split("\n").filter(Boolean);
    // Top-level JS of the package (cli.js; very old releases may use cli.mjs).
    const topJs = listing.filter((p) => /^package\/[^/]+\.(m?js|cjs)$/.test(p));
    const hasCli = topJs.some((p) => /^package\/cli\.m?js$/.test(p));
    if (hasCli) {
      await must("tar", ["-xzf", tgz, "-C", dir, ...topJs, "package/package.json"]);
      await Deno.remove(tgz);
      return { layout: "cli.js", paths: topJs.map((p) => dir + p) };
    }
    // Thin wrapper: the code is in the platform package's native binary.
    await must("tar", ["-xzf", tgz, "-C", dir, "package/package.json"]);
    await Deno.remove(tgz);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}package/package.json`));
    const platformVersion = manifest.optionalDependencies?.[PLATFORM_PKG];
    if (!platformVersion) return { layout: "none", paths: [] };
    const ptgz = await this.pack(`${PLATFORM_PKG}@${platformVersion}`, dir);
    await Deno.mkdir(`${dir}native`, { recursive: true });
    await must("tar", ["-xzf", ptgz, "-C", `${dir}native`, "package/claude"]);
    await Deno.remove(ptgz);
    return { layout: "native", paths: [`${dir}native/package/claude`] };
  }

  async pack(spec: string, dir: string): Promise<string> {
    this.downloads++;
    // A private npm cache per probe, removed with it: npm's own cache would keep every tarball (GBs).
    const out = await must("npm", ["pack", spec, "--json", "--pack-destination", dir], {
      cwd: dir,
      env: { ...npmEnvFor(`${dir}npm-cache`) },
    });
    const info = JSON.parse(out);
    return dir + info[0].filename;
  }

  async scan(version: string, layout: Probe["layout"], paths: string[]): Promise<Probe> {
    let codeBytes = 0;
    for (const p of paths) codeBytes += (await Deno.stat(p)).size;
    const markers: Record<string, boolean> = {};
    if (paths.length === 0) {
      for (const m of this.markerNames) markers[m] = false;
      const markerRe = Object.fromEntries(Object.entries(MARKERS).map(([n, { re }]) => [n, re]));
      return { version, layout, events: [], strayEvents: [], markers, markerRe, codeBytes };
    }
    // Arrays of quoted CamelCase names that include "PreToolUse".
    const listRe = '\\[("[A-Z][A-Za-z]+",)*"PreToolUse"(,"[A-Z][A-Za-z]+")*\\]';
    const lists = await run("grep", ["-aohE", listRe, ...paths]);
    const arrays = [...new Set(lists.stdout.split("\n").filter(Boolean))].map((s) => JSON.parse(s) as string[]);
    arrays.sort((a, b) => b.length - a.length);
    const events = arrays[0] ?? [];
    const known = new Set(events);
    const stray = new Set<string>();
    for (const a of arrays) for (const e of a) if (!known.has(e)) stray.add(e);
    // Markers: one grep each (grep -a handles the 200-400 MB binaries in well under a second).
    for (const [name, { re }] of Object.entries(MARKERS)) {
      const r = await run("grep", ["-aqE", re, ...paths]);
      markers[name] = r.code === 0;
    }
    const markerRe = Object.fromEntries(Object.entries(MARKERS).map(([n, { re }]) => [n, re]));
    return { version, layout, events, strayEvents: [...stray], markers, markerRe, codeBytes };
  }
}

/** First index in `versions` for which `has` holds, assuming monotone; -1 if the newest lacks it. */
async function bisect(
  versions: string[],
  prober: Prober,
  need: string,
  has: (p: Probe) => boolean,
): Promise<number> {
  // Narrow with what is known already (monotone: every present index bounds hi, every absent one below bounds lo).
  let hi = versions.length - 1;
  if (!has(await prober.probe(versions[hi], need))) return -1;
  let lo = -1;
  for (let i = 0; i < versions.length; i++) {
    const p = prober.cached(versions[i], need);
    if (p && has(p)) {
      hi = Math.min(hi, i);
      break;
    }
  }
  for (let i = hi - 1; i >= 0; i--) {
    const p = prober.cached(versions[i], need);
    if (p && !has(p)) {
      lo = i;
      break;
    }
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (has(await prober.probe(versions[mid], need))) hi = mid;
    else lo = mid;
  }
  return hi;
}

function semverCmp(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => parseInt(x, 10));
  const pb = b.split(/[.-]/).map((x) => parseInt(x, 10));
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

async function main() {
  const args = parseArgs(Deno.args);
  const work = `${args.out}.probe-work/`;
  await Deno.mkdir(work, { recursive: true });
  const npmCache = await Deno.makeTempDir({ prefix: "probe-npm-cache-" });
  const npmEnv = npmEnvFor(npmCache);
  const prober = new Prober(work, args.keep);
  const onSignal = () => {
    // Leave no half-downloaded tarball or extracted binary behind.
    if (!args.keep) {
      try {
        Deno.removeSync(work, { recursive: true });
      } catch { /* gone */ }
    }
    try {
      Deno.removeSync(npmCache, { recursive: true });
    } catch { /* gone */ }
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const cachePath = `${args.out}probe-cache.json`;
  if (!args.refresh) {
    try {
      prober.cache = JSON.parse(await Deno.readTextFile(cachePath));
    } catch { /* no cache yet */ }
  }
  const saveCache = () =>
    Deno.writeTextFile(
      cachePath,
      JSON.stringify(
        Object.fromEntries(Object.entries(prober.cache).sort(([a], [b]) => semverCmp(a, b))),
        null,
        1,
      ) + "\n",
    );

  try {
    if (args.check) {
      for (const v of args.check) {
        const p = await prober.probe(v, "all");
        console.log(JSON.stringify(p));
      }
      await saveCache();
      return;
    }

    // Published versions, oldest first, without prereleases.
    const versions = (JSON.parse(await must("npm", ["view", PKG, "versions", "--json"], { env: npmEnv })) as string[])
      .filter((v) => /^\d+\.\d+\.\d+$/.test(v))
      .sort(semverCmp);
    const times = JSON.parse(await must("npm", ["view", PKG, "time", "--json"], { env: npmEnv })) as Record<
      string,
      string
    >;
    console.error(`${versions.length} published versions, ${versions[0]} .. ${versions.at(-1)}`);

    const newest = await prober.probe(versions.at(-1)!, "all");
    await saveCache();
    if (args.sweep) {
      for (let i = 0; i < versions.length; i += args.sweep) {
        await prober.probe(versions[i], "all");
        await saveCache();
      }
    }
    const events = [...new Set([...newest.events, ...EXPECTED_EVENTS])];

    const firstOf = async (need: string, has: (p: Probe) => boolean) => {
      const i = await bisect(versions, prober, need, has);
      await saveCache();
      return i < 0 ? null : versions[i];
    };

    const eventFirst: Record<string, string | null> = {};
    const hooksFirst = await firstOf("events", (p) => p.events.length > 0);
    const nativeFirst = await firstOf("layout", (p) => p.layout === "native");
    for (const e of events) eventFirst[e] = await firstOf("events", (p) => p.events.includes(e));
    const featureFirst: Record<string, string | null> = {};
    for (const m of Object.keys(MARKERS)) featureFirst[m] = await firstOf(m, (p) => p.markers[m]);

    // Check the monotone assumption against every probed version.
    const warnings: string[] = [];
    const probed = Object.values(prober.cache).sort((a, b) => semverCmp(a.version, b.version));
    for (const p of probed) {
      for (const [e, v] of Object.entries(eventFirst)) {
        const present = p.events.includes(e);
        const expected = v !== null && semverCmp(p.version, v) >= 0;
        if (present !== expected) {
          warnings.push(`${p.version}: event ${e} ${present ? "present" : "absent"}, not monotone`);
        }
      }
      for (const [m, v] of Object.entries(featureFirst)) {
        if (!(m in p.markers) || p.markerRe?.[m] !== MARKERS[m].re) continue;
        const present = p.markers[m];
        const expected = v !== null && semverCmp(p.version, v) >= 0;
        if (present !== expected) {
          warnings.push(`${p.version}: marker ${m} ${present ? "present" : "absent"}, not monotone`);
        }
      }
      if (p.strayEvents.length) warnings.push(`${p.version}: names outside the longest event list: ${p.strayEvents}`);
    }

    // Events sorted by first version, then by their place in the newest release's list.
    const order = (e: string) => {
      const i = newest.events.indexOf(e);
      return i < 0 ? 999 : i;
    };
    const sorted = Object.entries(eventFirst).sort(([ea, a], [eb, b]) =>
      (a === null ? 1 : 0) - (b === null ? 1 : 0) || (a && b ? semverCmp(a, b) : 0) || order(ea) - order(eb)
    );
    const hookEvents = Object.fromEntries(sorted);
    await Deno.writeTextFile(`${args.out}hook-events.json`, JSON.stringify(hookEvents, null, 2) + "\n");
    const results = {
      package: PKG,
      generatedAt: new Date().toISOString(),
      note:
        "registryTime is npm's `time` field as this registry serves it; it is not monotone in the version here, so it is no guide to release order",
      versionsPublished: versions.length,
      newest: newest.version,
      hooksFirstVersion: hooksFirst,
      hooksRunFirstVersion: featureFirst.hooks_runtime,
      nativeBinaryFirstVersion: nativeFirst,
      events: Object.fromEntries(
        sorted.map(([e, v]) => [e, { firstVersion: v, registryTime: v ? times[v] ?? null : null }]),
      ),
      features: Object.fromEntries(
        Object.entries(featureFirst).map((
          [m, v],
        ) => [m, {
          firstVersion: v,
          registryTime: v ? times[v] ?? null : null,
          what: MARKERS[m].what,
          regex: MARKERS[m].re,
        }]),
      ),
      probedVersions: probed.map((p) => ({ version: p.version, layout: p.layout, events: p.events.length })),
      downloadsThisRun: prober.downloads,
      warnings,
    };
    await Deno.writeTextFile(`${args.out}probe-results.json`, JSON.stringify(results, null, 2) + "\n");

    // The table.
    const pad = (s: string, n: number) => s + " ".repeat(Math.max(0, n - s.length));
    console.log(
      `Hook event list (settings schema) first in ${hooksFirst}; hooks run from ${featureFirst.hooks_runtime}`,
    );
    console.log(`npm package ships the native binary (JS in ${PLATFORM_PKG}) from ${nativeFirst}`);
    console.log(`${pad("event", 24)} first version`);
    console.log(`${"-".repeat(24)} -------------`);
    for (const [e, v] of sorted) console.log(`${pad(e, 24)} ${v ?? "(not found)"}`);
    console.log();
    console.log(`${pad("feature", 36)} first version`);
    console.log(`${"-".repeat(36)} -------------`);
    for (const [m, v] of Object.entries(featureFirst)) console.log(`${pad(m, 36)} ${v ?? "(not found)"}`);
    console.log();
    console.log(
      `${probed.length} versions probed in all (cache), ${prober.downloads} tarballs downloaded this run; ${warnings.length} warnings`,
    );
    for (const w of warnings) console.log(`WARNING ${w}`);
  } finally {
    await saveCache();
    await Deno.remove(npmCache, { recursive: true }).catch(() => {});
    if (!args.keep) await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
