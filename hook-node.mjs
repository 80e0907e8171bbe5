#!/usr/bin/env node
// The TelemHQ hook for Claude Code, started by Node: see README.md. The hook itself is hook.mjs.
const fs = process.getBuiltinModule?.("node:fs");
const uid = process.getuid?.();

// Folders only this user (or root, above) can change: a compile cache elsewhere could be made to run another's code.
function privateCacheFolder() {
  const env = process.env;
  const absolute = (path) => typeof path === "string" && path.startsWith("/");
  const claudeDir = env.CLAUDE_CONFIG_DIR ? env.CLAUDE_CONFIG_DIR : absolute(env.HOME) ? env.HOME + "/.claude" : "";
  const state = (env.TELEMHQ_STATE_DIR || claudeDir + "/telemhq").replace(/\/+$/, "");
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
const { runCommandLine } = await import(new URL("./hook.mjs", import.meta.url).href);
await runCommandLine();
