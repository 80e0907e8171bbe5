/**
 * Paths the way the platform the hook runs on reads them: POSIX paths on
 * macOS and Linux, Windows paths (drive letters, backslashes, `\\?\` and UNC
 * prefixes, names compared without case) on Windows. Every split, join,
 * parent and containment check of a path from an event or the environment
 * goes through here, so that a Windows `cwd` never leaves whole as a project
 * name and a transcript check never fails on a backslash.
 *
 * Owns: `PathStyle`, `hostPlatform`, `hostPathStyle`, `isAbsolutePath`, `pathName`,
 * `parentFolder`, `foldersAbove`, `isInsideFolder`, `samePath`, `homeDirectory`,
 * `withoutTrailingSeparator`, `isNetworkPath`, `foldersToSearchUp`, `fileUrlPath`. Uses: nothing.
 *
 * @module
 */

/** How a platform writes paths: `"windows"` on Windows, `"posix"` everywhere else. */
export type PathStyle = "posix" | "windows";

/**
 * The operating system this code runs on, as Node names it (`Deno.build.os`
 * under Deno, `process.platform` under Bun and Node): the one place that reads it.
 *
 * @returns `"darwin"`, `"linux"`, `"win32"`, ..., or `""` where it is unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(hostPlatform(), Deno.build.os === "windows" ? "win32" : Deno.build.os);
 * ```
 */
export function hostPlatform(): string {
  // Under Deno, Deno.build: touching the global `process` there starts Deno's whole Node layer (tens of ms).
  const os = (globalThis as { Deno?: { build?: { os?: unknown } } }).Deno?.build?.os;
  if (typeof os === "string") return os === "windows" ? "win32" : os;
  const platform = (globalThis as { process?: { platform?: unknown } }).process?.platform;
  return typeof platform === "string" ? platform : "";
}

/**
 * The path style of the system this code runs on (see {@linkcode hostPlatform});
 * anything but Windows is taken as POSIX.
 *
 * @returns `"windows"` on Windows, else `"posix"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(hostPathStyle(), Deno.build.os === "windows" ? "windows" : "posix");
 * ```
 */
export function hostPathStyle(): PathStyle {
  return hostPlatform() === "win32" ? "windows" : "posix";
}

/**
 * Whether a path is absolute on the platform: a folder named by a relative
 * path would be wherever the hook runs, a repository's own files, say. On
 * macOS and Linux `C:/x` is a folder named `C:` in the current one.
 *
 * @param path Any string.
 * @param style How the platform writes paths; the one this code runs on by default.
 * @returns True for `/x`; on Windows also for `C:\x`, `C:/x` and `\\server\share`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(isAbsolutePath("/home/me", "posix"), true);
 * assert.equal(isAbsolutePath("C:\\Users\\me", "windows"), true);
 * assert.equal(isAbsolutePath("C:/Users/me", "posix"), false);
 * assert.equal(isAbsolutePath(".telemhq", "windows"), false);
 * ```
 */
export function isAbsolutePath(path: string, style: PathStyle = hostPathStyle()): boolean {
  if (style === "posix") return path.startsWith("/");
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) || /^[\\/]{2}/.test(path);
}

/**
 * Whether a path names another computer or a device rather than a file on
 * this one: on Windows `\\\\server\\share`, `//server/share`, `\\\\?\\UNC\\...`
 * and `\\\\.\\` device paths. Merely opening such a path makes Windows
 * connect to the server and offer the user's login (NTLM): a path from an
 * event that is one is never touched.
 *
 * @param path Any string.
 * @param style How the platform writes paths.
 * @returns True for a network or device path on Windows; always false on POSIX.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(isNetworkPath("\\\\attacker\\share\\x.jsonl", "windows"), true);
 * assert.equal(isNetworkPath("\\\\?\\C:\\Users\\me", "windows"), false);
 * assert.equal(isNetworkPath("C:\\Users\\me", "windows"), false);
 * ```
 */
export function isNetworkPath(path: string, style: PathStyle): boolean {
  if (style === "posix" || !/^[\\/]{2}/.test(path)) return false;
  return !/^[\\/]{2}[?][\\/][A-Za-z]:[\\/]/.test(path);
}

/** A Windows path's anchor (`C:\`, `C:`, `\\server\share\`, `\`) and the rest, `\\?\` dropped. */
function splitWindowsAnchor(path: string): { anchor: string; rest: string } {
  let text = path.replaceAll("/", "\\");
  // The extended-length prefix: `\\?\C:\x` is `C:\x`, `\\?\UNC\server\share\x` is `\\server\share\x`.
  if (/^\\\\[?.]\\UNC\\/i.test(text)) text = `\\\\${text.slice(8)}`;
  else if (/^\\\\[?.]\\[A-Za-z]:/.test(text)) text = text.slice(4);
  const unc = text.match(/^\\\\[^\\]+\\[^\\]+(?:\\|$)/);
  if (unc) return { anchor: unc[0].endsWith("\\") ? unc[0] : `${unc[0]}\\`, rest: text.slice(unc[0].length) };
  // A server without a share (`\\server\`) is all anchor, as pathlib reads it.
  const server = text.match(/^\\\\[^\\]*\\$/);
  if (server) return { anchor: server[0], rest: "" };
  const drive = text.match(/^[A-Za-z]:\\?/) ?? text.match(/^\\/);
  return drive ? { anchor: drive[0], rest: text.slice(drive[0].length) } : { anchor: "", rest: text };
}

/** A path's anchor and its names, as Python's `pathlib` parses it (empty and `.` names dropped). */
function parsePath(path: string, style: PathStyle): { anchor: string; names: string[] } {
  if (style === "posix") {
    return {
      anchor: path.startsWith("/") ? "/" : "",
      names: path.split("/").filter((name) => name !== "" && name !== "."),
    };
  }
  const { anchor, rest } = splitWindowsAnchor(path);
  return { anchor, names: rest.split("\\").filter((name) => name !== "" && name !== ".") };
}

/**
 * A path's last name, as Python's `pathlib.Path(path).name` gives it on that
 * platform: on Windows `C:\Users\alice\src\api` gives `api`, never the path.
 *
 * @param path A path.
 * @param style The platform's path style (see {@linkcode hostPathStyle}).
 * @returns The last name, or `""` for a root (`/`, `C:\`, `\\server\share`) or an empty path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(pathName("/home/dev/api/", "posix"), "api");
 * assert.equal(pathName("C:\\Users\\alice\\src\\acme-api", "windows"), "acme-api");
 * assert.equal(pathName("C:\\", "windows"), "");
 * ```
 */
export function pathName(path: string, style: PathStyle): string {
  const { names } = parsePath(path, style);
  return names.length > 0 ? names[names.length - 1] : "";
}

/**
 * The folder a path is in, written with the platform's separator.
 *
 * @param path An absolute path.
 * @param style The platform's path style.
 * @returns The parent, or undefined for a root (it has none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(parentFolder("/home/dev/api", "posix"), "/home/dev");
 * assert.equal(parentFolder("C:\\Users\\alice", "windows"), "C:\\Users");
 * assert.equal(parentFolder("/", "posix"), undefined);
 * ```
 */
export function parentFolder(path: string, style: PathStyle): string | undefined {
  const { anchor, names } = parsePath(path, style);
  if (names.length === 0) return undefined;
  const separator = style === "windows" ? "\\" : "/";
  return anchor + names.slice(0, -1).join(separator) || (names.length === 1 && anchor === "" ? "." : anchor);
}

/**
 * The folders above a path, nearest first, its root last.
 *
 * @param path An absolute path.
 * @param style The platform's path style.
 * @returns The folders, or `[]` for a root.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(foldersAbove("/home/dev", "posix"), ["/home", "/"]);
 * assert.deepEqual(foldersAbove("C:\\Users\\alice", "windows"), ["C:\\Users", "C:\\"]);
 * ```
 */
export function foldersAbove(path: string, style: PathStyle): string[] {
  const folders: string[] = [];
  for (let folder = parentFolder(path, style); folder !== undefined; folder = parentFolder(folder, style)) {
    if (folder === ".") break;
    folders.push(folder);
  }
  return folders;
}

/** A path in one spelling for comparing: Windows paths with `\`, no `\\?\`, without case. */
function comparable(path: string, style: PathStyle): { anchor: string; names: string[] } {
  const parsed = parsePath(path, style);
  if (style === "posix") return parsed;
  return { anchor: parsed.anchor.toLowerCase(), names: parsed.names.map((name) => name.toLowerCase()) };
}

/**
 * Whether `path` is inside `folder` (strictly below it): on Windows without
 * regard to case, slashes or a `\\?\` prefix, as Windows itself compares. Both
 * must be absolute and already resolved (no `..`): a `..` name is never inside.
 *
 * @param path The path to check.
 * @param folder The folder it must be in.
 * @param style The platform's path style.
 * @returns True when `path` is below `folder`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(isInsideFolder("/h/.claude/projects/p/s.jsonl", "/h/.claude/projects", "posix"), true);
 * assert.equal(isInsideFolder("/h/.claude/projects-old/s.jsonl", "/h/.claude/projects", "posix"), false);
 * assert.equal(isInsideFolder("\\\\?\\C:\\Users\\A\\.claude\\projects\\p\\s.jsonl", "c:\\users\\a\\.claude\\projects", "windows"), true);
 * ```
 */
export function isInsideFolder(path: string, folder: string, style: PathStyle): boolean {
  if (!isAbsolutePath(path, style) || !isAbsolutePath(folder, style)) return false;
  const inner = comparable(path, style);
  const outer = comparable(folder, style);
  if (inner.anchor !== outer.anchor || inner.names.length <= outer.names.length) return false;
  if (inner.names.includes("..")) return false;
  return outer.names.every((name, index) => inner.names[index] === name);
}

/**
 * Whether two absolute paths name the same place (on Windows without regard
 * to case, slashes or a `\\?\` prefix).
 *
 * @param left A path.
 * @param right Another.
 * @param style The platform's path style.
 * @returns True when they are the same.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(samePath("C:/Users/A/", "c:\\users\\a", "windows"), true);
 * assert.equal(samePath("/a/b", "/a/B", "posix"), false);
 * ```
 */
export function samePath(left: string, right: string, style: PathStyle): boolean {
  const a = comparable(left, style);
  const b = comparable(right, style);
  return a.anchor === b.anchor && a.names.length === b.names.length && a.names.every((name, i) => name === b.names[i]);
}

/**
 * The user's home folder, as Claude Code finds it (Node's `os.homedir()`):
 * `HOME` on macOS and Linux; on Windows `USERPROFILE`, else `HOME`, else
 * `HOMEDRIVE` + `HOMEPATH`. Only an absolute path counts.
 *
 * @param env Looks up an environment variable.
 * @param style The platform's path style.
 * @returns The folder without a trailing separator, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(homeDirectory((name) => ({ HOME: "/home/me/" })[name], "posix"), "/home/me");
 * assert.equal(homeDirectory((name) => ({ USERPROFILE: "C:\\Users\\me" })[name], "windows"), "C:\\Users\\me");
 * ```
 */
export function homeDirectory(env: (name: string) => string | undefined, style: PathStyle): string | undefined {
  const candidates = style === "windows"
    ? [env("USERPROFILE"), env("HOME"), `${env("HOMEDRIVE") ?? ""}${env("HOMEPATH") ?? ""}`]
    : [env("HOME")];
  for (const candidate of candidates) {
    const home = candidate?.trim();
    if (home && isAbsolutePath(home, style)) return withoutTrailingSeparator(home, style);
  }
  return undefined;
}

/**
 * A path without the separators it ends with, a root kept whole.
 *
 * @param path An absolute path.
 * @param style The platform's path style: only Windows takes `\` for a separator.
 * @returns `/a/b` for `/a/b/`, `C:\` for `C:\`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(withoutTrailingSeparator("/home/me//", "posix"), "/home/me");
 * assert.equal(withoutTrailingSeparator("C:\\", "windows"), "C:\\");
 * ```
 */
export function withoutTrailingSeparator(path: string, style: PathStyle): string {
  const trimmed = path.replace(style === "windows" ? /[\\/]+$/ : /\/+$/, "");
  if (trimmed === "") return path.slice(0, 1);
  return style === "windows" && /^[A-Za-z]:$/.test(trimmed) ? path.slice(0, 3) : trimmed;
}

/**
 * The folders to look in for a repository (`.git`) or a project's settings,
 * from `dir` up. On Windows, where no owner can be checked, never a drive's
 * root (any user may create `C:\\.git` there) nor above the user's profile
 * when `dir` is inside it, and nothing at all for a network path.
 *
 * @param dir An absolute folder.
 * @param style How the platform writes paths.
 * @param home The user's home folder, when known.
 * @returns The folders, `dir` first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(foldersToSearchUp("/home/me/api", "posix", "/home/me"), ["/home/me/api", "/home/me", "/home", "/"]);
 * assert.deepEqual(
 *   foldersToSearchUp("C:\\Users\\me\\api", "windows", "C:\\Users\\me"),
 *   ["C:\\Users\\me\\api", "C:\\Users\\me"],
 * );
 * assert.deepEqual(foldersToSearchUp("\\\\server\\share\\api", "windows", undefined), []);
 * ```
 */
export function foldersToSearchUp(dir: string, style: PathStyle, home: string | undefined): string[] {
  if (!isAbsolutePath(dir, style) || isNetworkPath(dir, style)) return [];
  const folders = [withoutTrailingSeparator(dir, style), ...foldersAbove(dir, style)];
  if (style === "posix") return folders;
  const inHome = home !== undefined && (samePath(dir, home, style) || isInsideFolder(dir, home, style));
  return folders.filter((folder) =>
    parsePath(folder, style).names.length > 0 &&
    (!inHome || samePath(folder, home!, style) || isInsideFolder(folder, home!, style))
  );
}

/**
 * The path a `file:` URL names, as the platform writes it: on Windows
 * `file:///C:/Users/me/hook.ts` is `C:\\Users\\me\\hook.ts` (its URL path,
 * `/C:/Users/...`, is no path Windows can open).
 *
 * @param url A `file:` URL.
 * @param style How the platform writes paths; the one this code runs on by default.
 * @returns The path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(fileUrlPath(new URL("file:///home/me/hook.ts"), "posix"), "/home/me/hook.ts");
 * assert.equal(fileUrlPath(new URL("file:///C:/Users/me/hook.ts"), "windows"), "C:\\Users\\me\\hook.ts");
 * ```
 */
export function fileUrlPath(url: URL, style: PathStyle = hostPathStyle()): string {
  const path = decodeURIComponent(url.pathname);
  if (style === "posix") return path;
  if (/^\/[A-Za-z]:\//.test(path)) return path.slice(1).replaceAll("/", "\\");
  return url.host === "" ? path.replaceAll("/", "\\") : `\\\\${url.host}${path.replaceAll("/", "\\")}`;
}
