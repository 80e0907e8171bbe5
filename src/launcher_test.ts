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

Deno.test("launcherScript() holds every list it shares with hook.ts, and no placeholder is left", () => {
  const script = launcherScript();
  assert.doesNotMatch(script, /@@[A-Z_]+@@/);
  assert.match(script, /^ENV_NAMES=HOME,CLAUDE_CONFIG_DIR,/m);
  assert.match(script, /^BUN_FLAGS='--config=\/dev\/null --no-env-file --no-install'$/m);
});
