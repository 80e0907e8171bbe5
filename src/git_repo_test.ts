import assert from "node:assert/strict";
import { readGitRepo, repoFromRemoteUrl } from "./git_repo.ts";
import { detectRuntime } from "./runtime_detect.ts";

Deno.test("repoFromRemoteUrl() keeps only owner/name: never the host, a user, a password or a path", () => {
  const cases: [string, string | undefined][] = [
    ["git@github.com:denoland/std.git", "denoland/std"],
    ["https://github.com/honojs/hono", "honojs/hono"],
    ["https://ci:SECRET_TOKEN@gitlab.example.com/team/api.git", "team/api"],
    ["ssh://git@host.example:2222/team/api.git/", "team/api"],
    ["/srv/git/project.git", undefined],
    ["file:///srv/git/team/project.git", undefined],
    ["https://host/group/sub/project", undefined],
    ["https://host/team/../etc", undefined],
    ["https://host/team/na me", undefined],
    ["", undefined],
    ["file://localhost/home/alice", undefined],
    ["ssh://nas/home/alice", undefined],
    ["alice@10.0.0.5:home/alice", undefined],
    ["git@gitlab.internal:team/api.git", undefined],
    ["git@github.example.com:team/api.git", "team/api"],
  ];
  for (const [url, expected] of cases) assert.equal(repoFromRemoteUrl(url), expected, url);
});

Deno.test("readGitRepo() finds origin from a subfolder; a .git file, a symlinked config or no origin give nothing", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "telemhq-git-" });
  try {
    const runtime = detectRuntime();
    Deno.mkdirSync(`${dir}/repo/.git`, { recursive: true });
    Deno.mkdirSync(`${dir}/repo/src/deep`, { recursive: true });
    Deno.writeTextFileSync(
      `${dir}/repo/.git/config`,
      '[core]\n\tbare = false\n[remote "upstream"]\n\turl = git@github.com:other/fork.git\n' +
        '[remote "origin"]\n\turl = https://me:SECRET_TOKEN@github.com/acme/api.git\n\tfetch = +refs/heads/*\n',
    );
    assert.equal(await readGitRepo(runtime, `${dir}/repo/src/deep`), "acme/api");
    // A worktree's .git is a file naming another folder: not followed.
    Deno.mkdirSync(`${dir}/worktree`);
    Deno.writeTextFileSync(`${dir}/worktree/.git`, `gitdir: ${dir}/repo/.git\n`);
    assert.equal(await readGitRepo(runtime, `${dir}/worktree`), undefined);
    // A config that is a symlink is not read.
    Deno.mkdirSync(`${dir}/linked/.git`, { recursive: true });
    Deno.symlinkSync(`${dir}/repo/.git/config`, `${dir}/linked/.git/config`);
    assert.equal(await readGitRepo(runtime, `${dir}/linked`), undefined);
    Deno.mkdirSync(`${dir}/plain/.git`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/plain/.git/config`, "[core]\n\tbare = false\n");
    assert.equal(await readGitRepo(runtime, `${dir}/plain`), undefined);
    assert.equal(await readGitRepo(runtime, "relative/path"), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
