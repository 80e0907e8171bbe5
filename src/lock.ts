/**
 * The sender's lock: at most one sender drains a spool. The lock is a file
 * holding its owner's token, created exclusively and touched every second
 * (the heartbeat); a lock whose heartbeat stopped is taken over. A hook that
 * starts a sender claims the lock for it first, so that of many hooks firing
 * at once only one starts a sender; the sender adopts that claim by its token.
 *
 * Owns: the whole lock protocol (claim, adopt, acquire, heartbeat, release,
 * liveness). Uses: runtime, files, state_dir.
 *
 * @module
 */

import type { Runtime } from "./runtime.ts";
import { openRegularFile, readSmallFile } from "./files.ts";
import { STATE_LAYOUT } from "./state_dir.ts";

/** A sender whose lock is older than this is gone (killed, crashed): another may take over. */
const LOCK_STALE_MS = 5000;
const HEARTBEAT_MS = 1000;

/** A heartbeat within the last few seconds; one in the future (a clock set back, a planted file) is no heartbeat. */
function isFresh(mtimeMs: number): boolean {
  const age = Date.now() - mtimeMs;
  return age < LOCK_STALE_MS && age > -LOCK_STALE_MS;
}

function lockPath(stateDir: string): string {
  return `${stateDir}/${STATE_LAYOUT.lock}`;
}

/**
 * Whether a sender is running: its lock exists and its heartbeat is fresh.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns True when a live sender holds the lock.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@telemhq/claude-code";
 * assert.equal(await senderIsRunning(detectRuntime(), "/nonexistent"), false);
 * ```
 */
export async function senderIsRunning(runtime: Runtime, stateDir: string): Promise<boolean> {
  const lock = await runtime.lstat(lockPath(stateDir));
  return lock !== undefined && isFresh(lock.mtimeMs);
}

/**
 * Claims the lock for a sender the caller is about to start: its token when
 * the lock was free, undefined when another process holds or just took it.
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @returns The token to hand to the sender (`deliver --lock TOKEN`), or undefined.
 *
 * @example
 * ```ts ignore
 * const token = await claimLockForSender(runtime, stateDir);
 * ```
 */
export async function claimLockForSender(runtime: Runtime, stateDir: string): Promise<string | undefined> {
  const token = crypto.randomUUID();
  return await runtime.createPrivateFile(lockPath(stateDir), token).catch(() => false) ? token : undefined;
}

/**
 * Lets go of a lock claimed for a sender that could not be started: removed
 * only while it still holds that claim's token (never another sender's lock).
 *
 * @param runtime The runtime adapter.
 * @param stateDir The state directory.
 * @param token The token from {@linkcode claimLockForSender}.
 *
 * @example
 * ```ts ignore
 * await releaseClaimedLock(runtime, stateDir, token);
 * ```
 */
export async function releaseClaimedLock(runtime: Runtime, stateDir: string, token: string): Promise<void> {
  const fs = await runtime.fs();
  if ((await readSmallFile(fs, lockPath(stateDir), 100)) === token) {
    await fs.rm(lockPath(stateDir), { force: true }).catch(() => {});
  }
}

/**
 * The arguments that start a sender, handing it a claimed lock's token.
 *
 * @param token The token from {@linkcode claimLockForSender}, if the claim succeeded.
 * @returns The hook's arguments: `deliver [--lock TOKEN]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(senderArgs("t1"), ["deliver", "--lock", "t1"]);
 * assert.deepEqual(claimTokenIn(senderArgs("t1").slice(1)), "t1");
 * ```
 */
export function senderArgs(token: string | undefined): string[] {
  return token === undefined ? ["deliver"] : ["deliver", "--lock", token];
}

/**
 * The claimed lock's token in a sender's arguments (after `deliver`), if any.
 *
 * @param args The arguments after `deliver`.
 * @returns The token, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(claimTokenIn([]), undefined);
 * ```
 */
export function claimTokenIn(args: readonly string[]): string | undefined {
  return args[0] === "--lock" && typeof args[1] === "string" ? args[1] : undefined;
}

/** The lock, held by this sender. */
export class SenderLock {
  #runtime: Runtime;
  #path: string;
  #token: string;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lost = false;

  private constructor(runtime: Runtime, path: string, token: string) {
    this.#runtime = runtime;
    this.#path = path;
    this.#token = token;
  }

  /**
   * Takes the lock: adopts the claim a hook made for this sender (by its token), else takes
   * it when it is free or its holder is gone. Starts the heartbeat.
   *
   * @returns The lock, or undefined when a live sender holds it.
   */
  static async take(runtime: Runtime, stateDir: string, claimToken?: string): Promise<SenderLock | undefined> {
    const path = lockPath(stateDir);
    const fs = await runtime.fs();
    if (claimToken !== undefined && (await readSmallFile(fs, path, 100)) === claimToken) {
      return new SenderLock(runtime, path, claimToken).#start();
    }
    const token = crypto.randomUUID();
    for (let round = 0; round < 2; round++) {
      if (await runtime.createPrivateFile(path, token)) return new SenderLock(runtime, path, token).#start();
      const stat = await fs.lstat(path).catch(() => undefined);
      if (stat !== undefined && isFresh(stat.mtimeMs)) return undefined;
      // The holder is gone. Move its lock aside (one contender wins the rename), then retry.
      await fs.rename(path, `${path}.stale-${token}`).then(() => fs.rm(`${path}.stale-${token}`, { force: true }))
        .catch(() => {});
    }
    return undefined;
  }

  #start(): this {
    this.#heartbeat = setInterval(() => {
      void this.#beat().then((held) => this.#lost ||= !held);
    }, HEARTBEAT_MS);
    return this;
  }

  /** True once another sender took the lock over: stop sending. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Touches the lock through the file it opened (never through a symlink); false once it is not ours. */
  async #beat(): Promise<boolean> {
    try {
      const { file } = await openRegularFile(await this.#runtime.fs(), this.#path);
      try {
        const buffer = new Uint8Array(100);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
        if (new TextDecoder().decode(buffer.subarray(0, bytesRead)) !== this.#token) return false;
        const now = new Date();
        await file.utimes(now, now);
        return true;
      } finally {
        await file.close();
      }
    } catch {
      return false;
    }
  }

  async #held(): Promise<boolean> {
    return (await readSmallFile(await this.#runtime.fs(), this.#path, 100)) === this.#token;
  }

  /** Stops the heartbeat and lets go of the lock, unless another sender took it over. */
  async release(): Promise<void> {
    clearInterval(this.#heartbeat);
    if (!this.#lost && await this.#held()) await (await this.#runtime.fs()).rm(this.#path, { force: true });
  }
}
