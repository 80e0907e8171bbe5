/**
 * Claude Code's hook events, as data: which mean failure, which fire once per
 * prompt, which carry usage, which `install` wires and with what matcher.
 * Every other list of events is derived from {@linkcode HOOK_EVENTS}.
 *
 * Owns: the event table and the lists derived from it. Uses: nothing.
 *
 * @module
 */

/** The names of the hook events Claude Code fires (others may appear). */
export type HookEventName =
  | "SessionStart"
  | "SessionEnd"
  | "UserPromptSubmit"
  | "PreToolUse"
  | "PostToolUse"
  | "PostToolUseFailure"
  | "PostToolBatch"
  | "PermissionRequest"
  | "Notification"
  | "SubagentStart"
  | "SubagentStop"
  | "Stop"
  | "StopFailure"
  | "PreCompact"
  | "PostCompact";

/** What the hook knows about one event. */
export interface EventRule {
  /** The event always means failure (as in the reference script). */
  readonly failed?: true;
  /** Claude Code fires it at most once per prompt (turn), so `prompt_id` identifies it. */
  readonly oncePerPrompt?: true;
  /**
   * Claude Code fires it once as a session ends: the session, its last prompt and the reason identify it
   * (a resumed session that ends again after a new prompt gets a new id).
   */
  readonly oncePerSession?: true;
  /** Its ping carries usage: the turn's, the subagent's, or the session's totals. */
  readonly usage?: "turn" | "subagent" | "session";
  /** `install` wires it: always, or with `--tool-activity`; with this matcher, if any. */
  readonly install?: { readonly when: "always" | "toolActivity"; readonly matcher?: string };
}

/** Every event the hook treats specially; events not listed get a plain ping. */
export const HOOK_EVENTS: Readonly<Partial<Record<HookEventName, EventRule>>> = {
  UserPromptSubmit: { oncePerPrompt: true },
  PostToolUse: { install: { when: "toolActivity", matcher: "Bash|Edit|MultiEdit|Write" } },
  PostToolUseFailure: { failed: true, install: { when: "toolActivity", matcher: "*" } },
  Stop: { oncePerPrompt: true, usage: "turn", install: { when: "always" } },
  StopFailure: { failed: true, oncePerPrompt: true, usage: "turn", install: { when: "always", matcher: "*" } },
  // SubagentStop and SessionEnd carry the subagents' usage and the session's totals.
  SubagentStop: { usage: "subagent", install: { when: "always" } },
  SessionEnd: { oncePerSession: true, usage: "session", install: { when: "always" } },
};

/**
 * The rule for an event name, or an empty rule for events without one.
 *
 * @param event A hook event name.
 * @returns Its rule.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(eventRule("Stop").usage, "turn");
 * assert.deepEqual(eventRule("Notification"), {});
 * ```
 */
export function eventRule(event: string): EventRule {
  return Object.hasOwn(HOOK_EVENTS, event) ? HOOK_EVENTS[event as HookEventName]! : {};
}

function eventsWhere(test: (rule: EventRule) => boolean): string[] {
  return Object.entries(HOOK_EVENTS).filter(([, rule]) => test(rule)).map(([event]) => event);
}

/** Events that always mean failure, as in the reference script. */
export const FAILED_EVENTS: ReadonlySet<string> = new Set(eventsWhere((rule) => rule.failed === true));

/** The hook events `install` wires, with their matchers: derived from {@linkcode HOOK_EVENTS}. */
export const INSTALL_EVENTS: Readonly<Record<"always" | "toolActivity", readonly (readonly [string, string?])[]>> = {
  // Worked out when asked: the hook, which runs for every event, never asks.
  get always() {
    return installEvents("always");
  },
  get toolActivity() {
    return installEvents("toolActivity");
  },
};

function installEvents(when: "always" | "toolActivity"): (readonly [string, string?])[] {
  return eventsWhere((rule) => rule.install?.when === when)
    .map((event) => {
      const matcher = eventRule(event).install?.matcher;
      return matcher === undefined ? [event] as const : [event, matcher] as const;
    });
}
