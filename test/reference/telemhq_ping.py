#!/usr/bin/env python3
import hashlib
import json
import os
import sys
import urllib.request
from pathlib import Path

FAILED_EVENTS = {"PostToolUseFailure", "StopFailure"}


def short_hash(value):
    if not value:
        return None
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def compact_payload(payload):
    return {key: value for key, value in payload.items() if value is not None}


def main():
    ping_url = os.environ["TELEMHQ_PING_URL"]
    event = json.load(sys.stdin)

    cwd = event.get("cwd") or os.getcwd()
    hook_event = event.get("hook_event_name", "ClaudeCode")
    last_message = event.get("last_assistant_message")

    payload = compact_payload({
        "provider": "anthropic",
        "tool": "claude-code",
        "status": "failed" if hook_event in FAILED_EVENTS or event.get("error") else "success",
        "event": hook_event,
        "project": Path(cwd).name or "unknown",
        "session_id": event.get("session_id"),
        "tool_name": event.get("tool_name"),
        "tool_use_id": event.get("tool_use_id"),
        "permission_mode": event.get("permission_mode"),
        "cwd_hash": short_hash(cwd),
        "transcript_path_hash": short_hash(event.get("transcript_path")),
        "error": event.get("error"),
        "last_assistant_message_chars": len(last_message) if isinstance(last_message, str) else None,
    })

    request = urllib.request.Request(
        ping_url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )

    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status >= 300:
            raise RuntimeError(f"TelemHQ returned HTTP {response.status}")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:
        if os.getenv("TELEMHQ_HOOK_DEBUG") == "1":
            print(f"TelemHQ hook skipped: {exc}", file=sys.stderr)
        sys.exit(0)
