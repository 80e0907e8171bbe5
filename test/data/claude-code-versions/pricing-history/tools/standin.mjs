// Minimal Anthropic Messages API stand-in for probing Claude Code's own cost math.
// Usage: node standin.mjs PORT USAGE_JSON [RESPONSE_MODEL]
// Every request whose last user message contains "PRICEPROBE" is answered with USAGE_JSON
// (prompt counts in message_start, output and server tools in message_delta, as the classic API did); every other request
// (title/topic/quota helpers) gets all-zero usage, so `total_cost_usd` is the probe's cost alone.
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 8765);
const usage = JSON.parse(process.argv[3] ?? "{}");
const responseModel = process.argv[4];
const zero = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
let n = 0;

function textOf(body) {
  const msgs = body.messages ?? [];
  return JSON.stringify(msgs.length ? msgs[msgs.length - 1] : "");
}

createServer((req, res) => {
  let raw = "";
  req.on("data", (c) => (raw += c));
  req.on("end", () => {
    if (!req.url.includes("/v1/messages")) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: "no" } }));
      return;
    }
    let body = {};
    try { body = JSON.parse(raw); } catch {}
    if (req.url.includes("count_tokens")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ input_tokens: 10 }));
      return;
    }
    // The main-loop request: it carries tools and the probe prompt (title/topic helpers carry no tools).
    const probe = JSON.stringify(body.messages ?? []).includes("PRICEPROBE") &&
      (textOf(body).includes("PRICEPROBE") || (Array.isArray(body.tools) && body.tools.length > 0));
    const u = probe ? { ...zero, ...usage } : { ...zero };
    const id = `msg_${++n}`;
    const model = responseModel ?? body.model;
    process.stderr.write(`req ${n} model=${body.model} stream=${!!body.stream} probe=${probe}\n`);
    const message = { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: u };
    const text = probe ? "ok" : "Title";
    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json", "request-id": `req_${n}` });
      res.end(JSON.stringify({ ...message, content: [{ type: "text", text }], stop_reason: "end_turn" }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "request-id": `req_${n}` });
    const ev = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    // Like the classic API: message_start carries the prompt counts, message_delta the output and server tools.
    const { output_tokens, server_tool_use, ...start } = u;
    const delta = { output_tokens };
    if (server_tool_use !== undefined) delta.server_tool_use = server_tool_use;
    for (const k of ["speed", "inference_geo"]) if (u[k] !== undefined) delta[k] = u[k];
    ev("message_start", { message: { ...message, usage: { ...start, output_tokens: 0 } } });
    ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
    ev("content_block_delta", { index: 0, delta: { type: "text_delta", text } });
    ev("content_block_stop", { index: 0 });
    ev("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: delta });
    ev("message_stop", {});
    res.end();
  });
}).listen(port, "127.0.0.1", () => process.stderr.write(`listening ${port}\n`));
