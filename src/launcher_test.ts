// How the hook is started: the launcher's settings command.
import assert from "node:assert/strict";
import { launcherArgs, launcherCommand, launcherScript } from "./launcher.ts";

Deno.test("launcherCommand() quotes paths so that spaces and quotes cannot break the shell", () => {
  const command = launcherCommand(
    "/home/o'neil/.claude/hooks/telemhq.sh",
    launcherArgs("bun", "/opt/my bun/bun", "/h"),
  );
  assert.equal(
    command,
    `trap '' TERM HUP; exec /bin/sh '/home/o'"'"'neil/.claude/hooks/telemhq.sh' --bun '/opt/my bun/bun' --hook /h`,
  );
});

Deno.test("launcherArgs() names the tracker's host for Deno only", () => {
  assert.deepEqual(launcherArgs("deno", "/d", "/h", "telemhq.com").slice(-2), ["--host", "telemhq.com"]);
  assert.ok(!launcherArgs("bun", "/b", "/h", "telemhq.com").includes("--host"));
});

Deno.test('launcherScript() keeps a recorded runtime path whole, whatever it holds: no "$\'", "$`" or "$&" pastes script', async () => {
  for (const path of ["/opt/q$`;id>/tmp/PWN;#/bun", "/opt/a$'b/bun", "/opt/$&x/deno", "/opt/it's here/bun"]) {
    const script = launcherScript({ kind: "bun", path });
    assert.doesNotMatch(script, /@@[A-Z_]+@@/);
    assert.match(script, /^UNSAFE_ENV='[A-Z_ ]+'$/m, "the placeholders after it are filled");
    assert.equal(script.split("\n").filter((line) => line.startsWith("INSTALLED_PATH=")).length, 1);
    const line = script.split("\n").find((text) => text.startsWith("INSTALLED_PATH="))!;
    const shell = new Deno.Command("/bin/sh", {
      args: ["-c", `${line}; printf '%s' "$INSTALLED_PATH"`],
      stdout: "piped",
    });
    const { code, stdout } = await shell.output();
    assert.equal(code, 0);
    assert.equal(new TextDecoder().decode(stdout), path);
    const check = await new Deno.Command("/bin/sh", { args: ["-n", "-c", script] }).output();
    assert.equal(check.code, 0, `the script still parses with ${path}`);
  }
});

Deno.test("launcherScript() holds every list it shares with hook.ts, and no placeholder is left", () => {
  const script = launcherScript();
  assert.doesNotMatch(script, /@@[A-Z_]+@@/);
  assert.match(script, /^ENV_NAMES=HOME,CLAUDE_CONFIG_DIR,/m);
  assert.match(script, /^BUN_FLAGS='--config=\/dev\/null --no-env-file --no-install'$/m);
});
