// Paths as each platform reads them: the same answers as Python's pathlib
// (PurePosixPath, PureWindowsPath), and containment checks that a Windows
// spelling (case, slashes, \\?\) cannot get around.
import assert from "node:assert/strict";
import { foldersAbove, homeDirectory, isInsideFolder, parentFolder, pathName, samePath } from "./paths.ts";

// Each row: a path and what pathlib.PureWindowsPath(path).name gives (checked with Python 3.11).
const WINDOWS_NAMES: [string, string][] = [
  ["C:\\Users\\alice\\src\\acme-api", "acme-api"],
  ["C:\\Users\\alice\\src\\acme-api\\", "acme-api"],
  ["C:/Users/alice/src/acme-api", "acme-api"],
  ["c:\\users\\alice\\.\\src\\.\\api", "api"],
  ["C:\\", ""],
  ["C:", ""],
  ["C:api", "api"],
  ["\\\\?\\C:\\Users\\alice\\api", "api"],
  ["\\\\?\\UNC\\server\\share\\alice\\api", "api"],
  ["\\\\server\\share", ""],
  ["\\\\server\\share\\", ""],
  ["\\\\server\\share\\alice\\api", "api"],
  ["\\Users\\alice\\api", "api"],
  ["D:\\work\\acme api.v2", "acme api.v2"],
  ["C:\\a\\..", ".."],
];

Deno.test("pathName() gives pathlib's name on Windows: the last folder, never a drive, share or user name", () => {
  for (const [path, name] of WINDOWS_NAMES) assert.equal(pathName(path, "windows"), name, path);
});

Deno.test("pathName() on macOS and Linux keeps a backslash as part of a name, as pathlib does there", () => {
  assert.equal(pathName("/home/dev/C:\\odd", "posix"), "C:\\odd");
  assert.equal(pathName("/home/dev/api//", "posix"), "api");
  assert.equal(pathName("/", "posix"), "");
});

Deno.test("foldersAbove() walks up to the root on both platforms, shares included", () => {
  assert.deepEqual(foldersAbove("/a/b/c", "posix"), ["/a/b", "/a", "/"]);
  assert.deepEqual(foldersAbove("C:\\a\\b", "windows"), ["C:\\a", "C:\\"]);
  assert.deepEqual(foldersAbove("\\\\server\\share\\a", "windows"), ["\\\\server\\share\\"]);
  assert.equal(parentFolder("C:\\", "windows"), undefined);
});

Deno.test("isInsideFolder() on Windows ignores case, slashes and \\\\?\\, and never lets a sibling or .. through", () => {
  const projects = "C:\\Users\\Alice\\.claude\\projects";
  assert.equal(isInsideFolder("c:/users/alice/.claude/projects/p/s.jsonl", projects, "windows"), true);
  assert.equal(isInsideFolder("\\\\?\\C:\\Users\\Alice\\.claude\\projects\\p\\s.jsonl", projects, "windows"), true);
  assert.equal(isInsideFolder("C:\\Users\\Alice\\.claude\\projects-old\\s.jsonl", projects, "windows"), false);
  assert.equal(isInsideFolder("C:\\Users\\Alice\\.claude\\projects\\..\\x.jsonl", projects, "windows"), false);
  assert.equal(isInsideFolder("D:\\Users\\Alice\\.claude\\projects\\p\\s.jsonl", projects, "windows"), false);
  assert.equal(isInsideFolder(projects, projects, "windows"), false, "a folder is not inside itself");
  assert.equal(isInsideFolder("\\\\server\\share\\x", "\\\\server\\share", "windows"), true);
  assert.equal(isInsideFolder("/h/.claude/projects/P/s.jsonl", "/h/.claude/projects/p", "posix"), false);
  assert.equal(samePath("C:\\Users\\A", "\\\\?\\c:\\users\\a\\", "windows"), true);
});

Deno.test("homeDirectory() finds the profile on Windows as Node's os.homedir() does, and only HOME elsewhere", () => {
  const windows = (env: Record<string, string>) => homeDirectory((name) => env[name], "windows");
  assert.equal(windows({ USERPROFILE: "C:\\Users\\alice\\", HOME: "/c/Users/alice" }), "C:\\Users\\alice");
  assert.equal(windows({ HOME: "C:\\Users\\alice" }), "C:\\Users\\alice");
  assert.equal(windows({ HOMEDRIVE: "C:", HOMEPATH: "\\Users\\alice" }), "C:\\Users\\alice");
  assert.equal(windows({ USERPROFILE: "relative" }), undefined);
  assert.equal(homeDirectory((name) => ({ USERPROFILE: "C:\\Users\\alice" })[name], "posix"), undefined);
});
