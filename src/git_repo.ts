/**
 * The repository a session works in, as TelemHQ's roll-ups name it: the
 * `owner/name` of the `origin` remote, read from the git config of the folder
 * Claude Code started the hook in (its own working directory, never a path
 * from the event). Only that plain shape leaves: never the remote's URL, its
 * host, or credentials written into it.
 *
 * Owns: `readGitRepo`, `repoFromRemoteUrl`. Uses: paths, runtime, files.
 *
 * @module
 */

import { foldersToSearchUp, homeDirectory, hostPathStyle } from "./paths.ts";
import { nodeFs, type Runtime } from "./runtime.ts";
import { readSmallFile } from "./files.ts";

/** The largest git config read: a real one is a few hundred bytes. */
const MAX_GIT_CONFIG_BYTES = 64 * 1024;
/** How many folders up a repository's root is looked for. */
const MAX_DEPTH = 32;
/** An owner or a repository name as hosts allow them. */
const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * The `owner/name` in a git remote URL: `git@host:owner/name.git`,
 * `https://host/owner/name`, `ssh://git@host/owner/name.git`, or undefined
 * for anything else (a local path, a deeper path, odd characters).
 *
 * @param url The remote's URL, as written in the git config.
 * @returns For example `"denoland/std"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(repoFromRemoteUrl("git@github.com:denoland/std.git"), "denoland/std");
 * assert.equal(repoFromRemoteUrl("https://user:secret@github.com/denoland/std"), "denoland/std");
 * assert.equal(repoFromRemoteUrl("/srv/git/project.git"), undefined);
 * ```
 */
export function repoFromRemoteUrl(url: string): string | undefined {
  const match = url.trim().match(
    /^(?:(?:https?|ssh|git):\/\/(?:[^/@]*@)?([^/:]+)(?::\d+)?\/|[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):)(.+)$/,
  );
  // A hosting service's name (a dotted name, not an address or a machine on the local network): on any other
  // host, owner/name could be a home folder (ssh://nas/home/alice).
  const host = match?.[1] ?? match?.[2];
  const path = match?.[3];
  if (host === undefined || path === undefined || !/^(?=.*[A-Za-z])[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(host)) {
    return undefined;
  }
  if (/^(localhost|.*\.local|.*\.internal|.*\.lan)$/i.test(host)) return undefined;
  const parts = path.replace(/\/+$/, "").replace(/\.git$/, "").split("/");
  if (parts.length !== 2 || !parts.every((part) => NAME.test(part) && part !== "." && part !== "..")) return undefined;
  return parts.join("/");
}

/**
 * The `owner/name` of the `origin` remote of the repository around a folder,
 * or undefined (not a repository, no origin, an odd URL, a worktree or
 * submodule whose `.git` is a file, or a folder this process may not read).
 * Reads only `.git/config` regular files, never through a symlink.
 *
 * @param runtime The runtime adapter.
 * @param dir The folder (the hook's working directory).
 * @returns The repository's `owner/name`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * const dir = await Deno.makeTempDir();
 * assert.equal(await readGitRepo(detectRuntime(), dir), undefined, "no repository, no name");
 * ```
 */
export async function readGitRepo(runtime: Runtime, dir: string): Promise<string | undefined> {
  const style = hostPathStyle();
  const home = homeDirectory((name) => runtime.env(name), style);
  for (const folder of foldersToSearchUp(dir, style, home).slice(0, MAX_DEPTH)) {
    const git = `${folder.replace(/[\\/]$/, "")}/.git`;
    if (!runtime.mayInspect(git)) return undefined;
    const facts = await runtime.lstat(git);
    // Like git's safe.directory: a repository someone else owns (a planted /tmp/.git) names nothing.
    const uid = runtime.uid();
    if (facts?.kind === "directory" && uid !== undefined && facts.uid !== uid) return undefined;
    if (facts?.kind === "directory") return originOf(await readGitConfig(`${git}/config`));
    if (facts !== undefined) return undefined;
  }
  return undefined;
}

async function readGitConfig(path: string): Promise<string> {
  return await readSmallFile(await nodeFs(), path, MAX_GIT_CONFIG_BYTES) ?? "";
}

/** The `url` of `[remote "origin"]`, as `owner/name`. */
function originOf(config: string): string | undefined {
  let inOrigin = false;
  for (const line of config.split("\n")) {
    const section = line.match(/^\s*\[\s*([^\]]*?)\s*\]/);
    if (section) inOrigin = /^remote\s+"origin"$/.test(section[1]);
    else if (inOrigin) {
      const url = line.match(/^\s*url\s*=\s*(.*?)\s*$/)?.[1];
      if (url !== undefined) return repoFromRemoteUrl(url.replace(/^"(.*)"$/, "$1"));
    }
  }
  return undefined;
}
