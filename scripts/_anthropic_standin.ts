// A stand-in for the Anthropic Messages API on 127.0.0.1, for running the real
// Claude Code: it streams scripted answers (server-sent events) and records the
// usage it returned, the ground truth for token counts.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One content block of a scripted answer. */
export type Block =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string }
  | { type: "tool_use"; name: string; input: Record<string, unknown> };

/**
 * A scripted answer: content blocks (with, optionally, the usage to report, sent as given: fast mode,
 * US-only inference, web searches, 1-hour cache writes), or an API error.
 */
export type Answer =
  | { blocks: Block[]; usage?: Record<string, unknown> }
  | { error: { status: number; type: string; message: string } };

/** Usage the stand-in reported for one response. */
export interface UsageRecord {
  request: number;
  /** The scenario the request's prompt named; none for Claude Code's own requests (2.0's "Warmup" subagents). */
  scenario?: string;
  message_id: string;
  request_id: string;
  main_loop: boolean;
  model: string;
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_creation_input_tokens: number;
    cache_read_input_tokens: number;
    cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
    [more: string]: unknown;
  };
  error_status: number | null;
}

/** A tool call that does nothing, so that Claude Code asks for the next answer. */
const NOOP_TOOL: Block = { type: "tool_use", name: "Bash", input: { command: "true", description: "nothing" } };

/** Where the prompt names its scenario: `SCENARIO:name`. */
const SCENARIO_PATTERN = /SCENARIO:([a-z0-9-]+)/;
/** The Agent tool's prompt carries this, so the subagent's own requests can be told apart. */
export const SUBAGENT_TASK = "SUBAGENT_TASK";

/**
 * The scripted conversations. Each answers by step: the number of assistant
 * messages since the latest prompt. Every `SECRET_` string is content that
 * must never reach TelemHQ.
 */
export const SCENARIOS: Readonly<Record<string, readonly Answer[]>> = {
  "plain": [{ blocks: [{ type: "text", text: "Plain answer SECRET_PLAIN_ANSWER" }] }],
  "tools": [
    {
      blocks: [
        { type: "thinking", thinking: "Thinking about SECRET_THINKING" },
        { type: "text", text: "Let me look. SECRET_TEXT_BEFORE_TOOLS" },
        { type: "tool_use", name: "Bash", input: { command: "echo hello-SECRET_STDOUT", description: "greet" } },
        { type: "tool_use", name: "Read", input: { file_path: "/etc/hostname" } },
      ],
    },
    {
      blocks: [{
        type: "tool_use",
        name: "Bash",
        input: { command: "cat /nonexistent/SECRET_PATH_abc; echo SECRET_FAIL_OUT >&2; exit 3", description: "fail" },
      }],
    },
    { blocks: [{ type: "text", text: "Finished. SECRET_FINAL_TEXT" }] },
  ],
  "subagent": [
    {
      blocks: [{
        type: "tool_use",
        name: "Agent",
        input: {
          description: "look around",
          prompt: `${SUBAGENT_TASK} SECRET_SUBAGENT_PROMPT`,
          subagent_type: "general-purpose",
        },
      }],
    },
    { blocks: [{ type: "text", text: "The subagent is done. SECRET_MAIN_AFTER_AGENT" }] },
  ],
  "subagent-inner": [{ blocks: [{ type: "text", text: "Subagent report SECRET_SUBAGENT_ANSWER" }] }],
  "stop-failure": [{
    error: { status: 400, type: "invalid_request_error", message: "prompt is too long: SECRET_IN_API_ERROR" },
  }],
  "two-turns-1": [{ blocks: [{ type: "text", text: "First answer SECRET_ONE" }] }],
  // Every price dimension Claude Code applies, one response each: 1-hour and 5-minute cache writes and web
  // searches, US-only inference, fast mode, and a prompt one token over a long-prompt line (100,000).
  "priced": [
    { blocks: [NOOP_TOOL], usage: pricedUsage({}) },
    { blocks: [NOOP_TOOL], usage: pricedUsage({ inference_geo: "us", input_tokens: 77 }) },
    { blocks: [NOOP_TOOL], usage: pricedUsage({ speed: "fast", output_tokens: 3 }) },
    {
      blocks: [{ type: "text", text: "Priced. SECRET_PRICED" }],
      usage: pricedUsage({
        input_tokens: 40_001,
        cache_read_input_tokens: 50_000,
        cache_creation_input_tokens: 10_000,
        cache_creation: { ephemeral_1h_input_tokens: 4000, ephemeral_5m_input_tokens: 6000 },
      }),
    },
  ],
  // Four responses with prompts of 227,000 tokens (over 2.0's 200,000 line for Sonnet), with 1-hour writes and US-only
  // inference that 2.0's prices do not know: what 2.0.77 charges for them is its own rule, not today's.
  "long-prompts": [
    { blocks: [NOOP_TOOL], usage: longPromptUsage({}) },
    { blocks: [NOOP_TOOL], usage: longPromptUsage({ inference_geo: "us" }) },
    { blocks: [NOOP_TOOL], usage: longPromptUsage({ server_tool_use: { web_search_requests: 3 } }) },
    { blocks: [{ type: "text", text: "Long. SECRET_LONG" }], usage: longPromptUsage({ input_tokens: 100 }) },
  ],
  // Write a new three-line file, then replace one of its lines by two: Claude Code counts 5 added, 1 removed.
  "edits": [
    {
      blocks: [{ type: "tool_use", name: "Write", input: { file_path: "EDIT_FILE", content: "one\ntwo\nthree" } }],
    },
    {
      blocks: [{
        type: "tool_use",
        name: "Edit",
        input: { file_path: "EDIT_FILE", old_string: "two", new_string: "two-a\ntwo-b" },
      }],
    },
    { blocks: [{ type: "text", text: "Edited. SECRET_EDITED" }] },
  ],
  "two-turns-2": [
    { blocks: [{ type: "tool_use", name: "Bash", input: { command: "ls", description: "list" } }] },
    { blocks: [{ type: "text", text: "Second answer SECRET_TWO" }] },
  ],
};

interface MessagesRequest {
  model?: string;
  tools?: unknown[];
  messages?: { role: string; content: string | { type: string; text?: string }[] }[];
}

function userPromptText(message: NonNullable<MessagesRequest["messages"]>[number]): string | undefined {
  if (message.role !== "user") return undefined;
  if (typeof message.content === "string") return message.content;
  const texts = message.content.filter((block) => block.type === "text").map((block) => block.text ?? "");
  return texts.length > 0 && !message.content.some((block) => block.type === "tool_result")
    ? texts.join("\n")
    : undefined;
}

/** Picks the scenario and step of a request from its messages. */
export function scriptStep(request: MessagesRequest): { scenario: string; step: number } | undefined {
  const messages = request.messages ?? [];
  for (let index = messages.length - 1; index >= 0; index--) {
    const text = userPromptText(messages[index]);
    if (text === undefined) continue;
    const scenario = text.match(SCENARIO_PATTERN)?.[1] ?? (text.includes(SUBAGENT_TASK) ? "subagent-inner" : undefined);
    if (scenario === undefined) continue;
    const step = messages.slice(index + 1).filter((message) => message.role === "assistant").length;
    return { scenario, step };
  }
  return undefined;
}

export interface AnthropicStandIn {
  /** The base URL for `ANTHROPIC_BASE_URL`. */
  url: string;
  /** Usage returned per response, in order: the ground truth. */
  usage: UsageRecord[];
  /** Every request body received, as text. */
  bodies: string[];
  close(): Promise<void>;
}

/**
 * Starts the stand-in. `runId` makes message and request ids unique per recording; `editFile` is
 * the file the `edits` scenario writes and edits.
 */
export async function startAnthropicStandIn(
  runId = "e2e",
  editFile = "/tmp/telemhq-edit.txt",
): Promise<AnthropicStandIn> {
  const usage: UsageRecord[] = [];
  const bodies: string[] = [];
  let count = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => body += chunk);
    req.on("end", () => {
      bodies.push(body);
      if (req.method !== "POST" || !(req.url ?? "").startsWith("/v1/messages")) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"type":"error","error":{"type":"not_found_error","message":"not found"}}');
        return;
      }
      const request = JSON.parse(body) as MessagesRequest;
      const n = ++count;
      const found = scriptStep(request);
      const script = found && SCENARIOS[found.scenario];
      const answer: Answer = script?.[Math.min(found!.step, script.length - 1)] ??
        { blocks: [{ type: "text", text: "The stand-in has no script for this request." }] };
      const ids = {
        message_id: `msg_${runId}_${String(n).padStart(4, "0")}`,
        request_id: `req_${runId}_${String(n).padStart(4, "0")}`,
      };
      const model = request.model ?? "claude-sonnet-4-5";
      if ("error" in answer) {
        usage.push({
          request: n,
          ...ids,
          main_loop: Array.isArray(request.tools),
          model,
          usage: zeroUsage(),
          error_status: answer.error.status,
        });
        res.writeHead(answer.error.status, { "content-type": "application/json", "request-id": ids.request_id });
        res.end(JSON.stringify({ type: "error", error: { type: answer.error.type, message: answer.error.message } }));
        return;
      }
      const known = answer.usage === undefined ? knownUsage(n) : { ...knownUsage(0), ...answer.usage };
      usage.push({
        request: n,
        ...(found === undefined ? {} : { scenario: found.scenario }),
        ...ids,
        main_loop: Array.isArray(request.tools),
        model,
        usage: known,
        error_status: null,
      });
      const blocks = answer.blocks.map((block) => withEditFile(block, editFile));
      streamAnswer(res, blocks, { ...ids, model, usage: known, toolPrefix: `toolu_${runId}_${n}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    usage,
    bodies,
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Usage with every token kind, 1-hour and 5-minute writes and two web searches; `extra` replaces fields. */
function pricedUsage(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    input_tokens: 1234,
    output_tokens: 567,
    cache_read_input_tokens: 8901,
    cache_creation_input_tokens: 2345,
    cache_creation: { ephemeral_1h_input_tokens: 1000, ephemeral_5m_input_tokens: 1345 },
    server_tool_use: { web_search_requests: 2 },
    ...extra,
  };
}

function longPromptUsage(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    input_tokens: 12_345,
    output_tokens: 2_000,
    cache_read_input_tokens: 200_000,
    cache_creation_input_tokens: 14_655,
    cache_creation: { ephemeral_1h_input_tokens: 5_000, ephemeral_5m_input_tokens: 9_655 },
    ...extra,
  };
}

/** The `edits` scenario names its file EDIT_FILE: the stand-in puts the real one in. */
function withEditFile(block: Block, file: string): Block {
  if (block.type !== "tool_use" || block.input.file_path !== "EDIT_FILE") return block;
  return { ...block, input: { ...block.input, file_path: file } };
}

function zeroUsage(): UsageRecord["usage"] {
  return knownUsage(0);
}

/** Distinct, recognisable usage per response: request n reports n*100+1 input tokens, and so on. */
function knownUsage(n: number): UsageRecord["usage"] {
  return {
    input_tokens: n === 0 ? 0 : n * 100 + 1,
    output_tokens: n * 7,
    cache_creation_input_tokens: n * 10,
    cache_read_input_tokens: n * 1000,
    cache_creation: { ephemeral_5m_input_tokens: n * 10, ephemeral_1h_input_tokens: 0 },
  };
}

function streamAnswer(
  res: ServerResponse,
  blocks: Block[],
  meta: { message_id: string; request_id: string; model: string; usage: UsageRecord["usage"]; toolPrefix: string },
): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "request-id": meta.request_id,
  });
  const send = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  const { output_tokens, ...startUsage } = meta.usage;
  send("message_start", {
    message: {
      id: meta.message_id,
      type: "message",
      role: "assistant",
      model: meta.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...startUsage, output_tokens: 1 },
    },
  });
  blocks.forEach((block, index) => {
    if (block.type === "text") {
      send("content_block_start", { index, content_block: { type: "text", text: "" } });
      send("content_block_delta", { index, delta: { type: "text_delta", text: block.text } });
    } else if (block.type === "thinking") {
      send("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } });
      send("content_block_delta", { index, delta: { type: "thinking_delta", thinking: block.thinking } });
      send("content_block_delta", { index, delta: { type: "signature_delta", signature: "c2lnbmF0dXJl" } });
    } else {
      const id = `${meta.toolPrefix}_${index}`;
      send("content_block_start", { index, content_block: { type: "tool_use", id, name: block.name, input: {} } });
      send("content_block_delta", {
        index,
        delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) },
      });
    }
    send("content_block_stop", { index });
  });
  const toolUse = blocks.some((block) => block.type === "tool_use");
  send("message_delta", {
    delta: { stop_reason: toolUse ? "tool_use" : "end_turn", stop_sequence: null },
    usage: { ...startUsage, output_tokens },
  });
  send("message_stop", {});
  res.end();
}
