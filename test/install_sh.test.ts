// The curl installer, as users run it: `curl ... | sh -s -- ...`, its files
// served from a real HTTP server on 127.0.0.1.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { HOOK_PATH, pathExists, removeTree, ROOT, runtimeBinary, type RuntimeName } from "./_helpers.ts";

const INSTALL_SH = `${ROOT}scripts/install.sh`;

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Serves files from memory on 127.0.0.1, as a release folder would. */
async function serve(files: Record<string, Uint8Array>): Promise<{ base: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const body = files[(req.url ?? "").replace(/^\//, "")];
    res.writeHead(body === undefined ? 404 : 200);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function releaseFiles(hook: Uint8Array = Deno.readFileSync(HOOK_PATH)): Promise<Record<string, Uint8Array>> {
  const original = Deno.readFileSync(HOOK_PATH);
  const sums = `${await sha256(original)}  hook.ts\n`;
  return { "hook.ts": hook, "install.sh": Deno.readFileSync(INSTALL_SH), "SHA256SUMS": new TextEncoder().encode(sums) };
}

interface Installed {
  code: number;
  stdout: string;
  stderr: string;
  home: string;
}

/** `curl -fsSL BASE/install.sh | sh -s -- ARGS` in a throwaway HOME with one runtime on PATH. */
async function curlInstall(
  base: string,
  runtime: RuntimeName,
  args: string[],
  options: { cwd?: (home: string) => string; path?: string; env?: Record<string, string> } = {},
): Promise<Installed> {
  const home = Deno.makeTempDirSync({ prefix: "telemhq-curl-home-" });
  const bin = `${home}/bin`;
  Deno.mkdirSync(bin);
  Deno.symlinkSync(runtimeBinary(runtime), `${bin}/${runtime}`);
  const quoted = args.map((arg) => `'${arg}'`).join(" ");
  const output = await new Deno.Command("/bin/sh", {
    args: ["-c", `curl -fsSL '${base}/install.sh' | sh -s -- ${quoted}`],
    cwd: options.cwd?.(home) ?? home,
    clearEnv: true,
    env: { HOME: home, PATH: `${options.path ?? ""}/usr/bin:/bin:${bin}`, ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr), home };
}

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`install.sh finds ${runtime}, checks the download and installs the hook`, async () => {
    const server = await serve(await releaseFiles());
    const run = await curlInstall(server.base, runtime, [
      "--base-url",
      server.base,
      "--url",
      "https://telemhq.example/ping/SECRET_T",
    ]);
    try {
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Installed the TelemHQ hook for Claude Code\./);
      assert.match(run.stdout, new RegExp(`runtime: +\\S*${runtime}`));
      assert.equal(Deno.readTextFileSync(`${run.home}/.claude/hooks/telemhq.ts`), Deno.readTextFileSync(HOOK_PATH));
      assert.match(
        Deno.readTextFileSync(`${run.home}/.claude/settings.json`),
        /\/\.claude\/hooks\/telemhq\.sh --(deno|bun) \S+ --hook \S+\/\.claude\/hooks\/telemhq\.ts/,
      );
      assert.ok(!run.stdout.includes("SECRET_T") && !run.stderr.includes("SECRET_T"));
    } finally {
      await server.close();
      await removeTree(run.home);
    }
  });
}

Deno.test("install.sh refuses a corrupted download and installs nothing", async () => {
  const hook = Deno.readFileSync(HOOK_PATH).slice();
  hook[100] ^= 1;
  const server = await serve(await releaseFiles(hook));
  const run = await curlInstall(server.base, "bun", [
    "--base-url",
    server.base,
    "--url",
    "https://telemhq.example/ping/T",
  ]);
  try {
    assert.notEqual(run.code, 0);
    assert.equal(
      run.stderr,
      "TelemHQ install: checksum mismatch for hook.ts: the download is corrupt or was tampered with; nothing was installed.\n",
    );
    assert.ok(!pathExists(`${run.home}/.claude`), "nothing was installed");
  } finally {
    await server.close();
    await removeTree(run.home);
  }
});

Deno.test("install.sh cut short by the network runs nothing; plain http to another host is refused", async () => {
  const files = await releaseFiles();
  const script = new TextDecoder().decode(files["install.sh"]);
  // Cut inside main(): without its last line, the script only defines functions.
  files["install.sh"] = new TextEncoder().encode(script.slice(0, script.indexOf('  verify "$work"')));
  const server = await serve(files);
  const cut = await curlInstall(server.base, "bun", [
    "--base-url",
    server.base,
    "--url",
    "https://telemhq.example/ping/T",
  ]);
  const whole = await serve(await releaseFiles());
  const http = await curlInstall(whole.base, "bun", [
    "--base-url",
    "http://downloads.example.com",
    "--url",
    "https://telemhq.example/ping/T",
  ]);
  try {
    assert.ok(!pathExists(`${cut.home}/.claude`), "a truncated script installs nothing");
    assert.equal(cut.stdout, "");
    assert.notEqual(http.code, 0);
    assert.equal(
      http.stderr,
      'TelemHQ install: refusing to download from "http://downloads.example.com": use an https:// URL.\n',
    );
    assert.ok(!pathExists(`${http.home}/.claude`));
  } finally {
    await server.close();
    await whole.close();
    await removeTree(cut.home);
    await removeTree(http.home);
  }
});

Deno.test("install.sh refuses a base URL with a user name (http://127.0.0.1:80@example.com) and follows no redirect from http", async () => {
  const target = await serve(await releaseFiles());
  let redirected = 0;
  const server = createServer((req, res) => {
    redirected++;
    res.writeHead(302, { location: `${target.base}${req.url}` });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const userinfo = await curlInstall(target.base, "bun", [
    "--base-url",
    "http://127.0.0.1:80@example.com",
    "--url",
    "https://t.example/p/T",
  ]);
  const redirect = await curlInstall(target.base, "bun", ["--base-url", base, "--url", "https://t.example/p/T"]);
  try {
    assert.notEqual(userinfo.code, 0);
    assert.equal(
      userinfo.stderr,
      'TelemHQ install: refusing to download from "http://127.0.0.1:80@example.com": a base URL must not hold a user name or password.\n',
    );
    assert.notEqual(redirect.code, 0);
    assert.match(redirect.stderr, /^TelemHQ install: cannot download .*redirects away from https are refused/);
    assert.equal(redirected, 1, "the redirect was answered once and not followed");
    assert.ok(!pathExists(`${userinfo.home}/.claude`) && !pathExists(`${redirect.home}/.claude`));
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await target.close();
    await removeTree(userinfo.home);
    await removeTree(redirect.home);
  }
});

Deno.test("install.sh --sha256 checks hook.ts against a checksum from elsewhere, not the server's SHA256SUMS", async () => {
  const hook = Deno.readFileSync(HOOK_PATH).slice();
  hook[100] ^= 1;
  const files = await releaseFiles(hook);
  // A dishonest server: its SHA256SUMS matches its tampered hook.ts.
  files["SHA256SUMS"] = new TextEncoder().encode(`${await sha256(hook)}  hook.ts\n`);
  const server = await serve(files);
  const honest = await sha256(Deno.readFileSync(HOOK_PATH));
  const fooled = await curlInstall(server.base, "bun", ["--base-url", server.base, "--url", "https://t.example/p/T"]);
  const pinned = await curlInstall(server.base, "bun", [
    "--base-url",
    server.base,
    "--sha256",
    honest,
    "--url",
    "https://t.example/p/T",
  ]);
  try {
    assert.equal(fooled.code, 0, "the server's own checksum cannot catch the server");
    assert.notEqual(pinned.code, 0);
    assert.match(pinned.stderr, /checksum mismatch for hook\.ts/);
    assert.ok(!pathExists(`${pinned.home}/.claude`));
  } finally {
    await server.close();
    await removeTree(fooled.home);
    await removeTree(pinned.home);
  }
});

const shellcheck = (() => {
  try {
    return new Deno.Command("shellcheck", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "install.sh, .ci/run and the other shell scripts pass shellcheck (POSIX sh)",
  ignore: !shellcheck,
  fn: async () => {
    for (const script of [INSTALL_SH, `${ROOT}.ci/run`, `${ROOT}scripts/e2e-latest.sh`, `${ROOT}hooks/telemhq.sh`]) {
      const output = await new Deno.Command("shellcheck", { args: ["-s", "sh", script], stdout: "piped" }).output();
      assert.ok(output.success, `${script}:\n${new TextDecoder().decode(output.stdout)}`);
    }
  },
});

Deno.test("install.sh run inside a repository: its bunfig.toml preload, its ./deno and BUN_OPTIONS never run", async () => {
  const server = await serve(await releaseFiles());
  try {
    for (const runtime of ["bun", "deno"] as const) {
      let repo = "";
      const run = await curlInstall(server.base, runtime, [
        "--base-url",
        server.base,
        "--url",
        "https://telemhq.example/ping/T",
      ], {
        cwd: (home) => {
          repo = `${home}/repo`;
          Deno.mkdirSync(repo);
          // Code that would see the ping URL on the command line and in the environment.
          const steal = `require("fs").writeFileSync("${repo}/stolen", process.argv.join(" "));\n`;
          Deno.writeTextFileSync(`${repo}/.pwn.js`, steal);
          Deno.writeTextFileSync(`${repo}/bunfig.toml`, 'preload = ["./.pwn.js"]\n');
          Deno.writeTextFileSync(`${repo}/deno`, `#!/bin/sh\necho "$@" > "${repo}/stolen"\n`, { mode: 0o755 });
          Deno.writeTextFileSync(`${repo}/bun`, `#!/bin/sh\necho "$@" > "${repo}/stolen"\n`, { mode: 0o755 });
          return repo;
        },
        // The folder it runs in, first on PATH (an empty entry is the same), and Bun told to preload from there.
        path: ".::",
        env: { BUN_OPTIONS: "--preload ./.pwn.js" },
      });
      try {
        assert.equal(run.code, 0, run.stderr);
        assert.ok(!pathExists(`${repo}/stolen`), `${runtime}: the repository's code ran`);
        assert.ok(pathExists(`${run.home}/.claude/hooks/telemhq.ts`), "installed all the same");
      } finally {
        await removeTree(run.home);
      }
    }
  } finally {
    await server.close();
  }
});
