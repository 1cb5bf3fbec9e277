"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol, for tests and benches.

POST /v1/chat/completions, non-streaming (one JSON completion) and streaming (SSE `data: {...}` chunks,
then `data: [DONE]`), plain and tool-call replies, usage. Replies come from a `policy(request) -> Reply`;
faults are injected by a plan: a share of the distinct request bodies is answered with a fault the
first time that exact body is seen (429 with Retry-After, 500, a hang past the client
timeout, a garbage body, or a malformed call), so the client's retry of the same body succeeds.

Run it alone for the concurrency bench: `python tests/llm/openai_server.py --latency 0.1` prints its URL.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FAULT_KINDS", "FaultPlan", "OpenAIServer", "Reply", "serve"]

FAULT_KINDS = ("429", "500", "hang", "garbage", "bad_call")


@dataclass(frozen=True)
class Reply:
    """What the scripted model says: text, and/or tool calls as (id, name, arguments JSON text).

    `raw` (status, content type, body) is sent as it is instead, for what a server outside the protocol
    might answer: an error with its own body, a completion with missing or unknown values, plain text."""

    content: str | None = None
    tool_calls: list[tuple[str, str, str]] = field(default_factory=list)
    raw: tuple[int, str, bytes] | None = None


Policy = Callable[[dict[str, Any]], Reply]


@dataclass
class FaultPlan:
    """Which requests get which fault; `retry_after` is the 429's Retry-After in seconds.

    Exactly `share` of the distinct request bodies are faulted, the first time each is seen (or every
    time with `always`), with the kinds taken in turn, so every kind occurs once there are enough.
    """

    share: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    hang_s: float = 2.0
    retry_after: float = 0.05
    always: bool = False
    _distinct: int = 0
    _faulted: int = 0

    def pick(self, body: bytes, seen: int) -> str | None:
        if seen > 1 and not self.always:
            return None
        k = self._distinct
        self._distinct += 1
        if int((k + 1) * self.share) == int(k * self.share) and self.share < 1:
            return None
        self._faulted += 1
        return self.kinds[(self._faulted - 1) % len(self.kinds)]


class _Listener(ThreadingHTTPServer):
    request_queue_size = 1024  # the default backlog of 5 refuses connections under concurrency


class OpenAIServer:
    """The server and what it saw: every request body (parsed) and the faults it injected."""

    def __init__(self, policy: Policy, faults: FaultPlan | None = None, latency: float = 0.0) -> None:
        self.policy, self.faults, self.latency = policy, faults or FaultPlan(), latency
        self.requests: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []  # the same requests as sent, byte for byte
        self.targets: list[str] = []  # their paths with the query string
        self.headers: list[dict[str, str]] = []  # names lower-cased: clients differ in case
        self.injected: Counter[str] = Counter()
        self.in_flight = 0  # requests being answered now
        self.peak_in_flight = 0  # the most at once so far
        self._seen: Counter[bytes] = Counter()
        self._lock = threading.Lock()
        self._httpd = _Listener(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def auth(self) -> list[str]:
        """Every request's Authorization header, to show the key reached the server."""
        return [headers.get("authorization", "") for headers in self.headers]

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def note(self, raw: bytes, request: dict[str, Any], target: str, headers: dict[str, str]) -> str | None:
        """Record a request and decide its fault (None: answer normally)."""
        with self._lock:
            self.requests.append(request)
            self.bodies.append(raw)
            self.targets.append(target)
            self.headers.append({name.lower(): value for name, value in headers.items()})
            self._seen[raw] += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            fault = self.faults.pick(raw, self._seen[raw])
            if fault is not None:
                self.injected[fault] += 1
            return fault

    def answered(self) -> None:
        """A request's answer is sent (or the client gave up on it)."""
        with self._lock:
            self.in_flight -= 1


def _usage(request: dict[str, Any], reply: Reply) -> dict[str, int]:
    prompt = len(json.dumps(request.get("messages", []))) // 4 + 1
    completion = len(reply.content or "") // 4 + sum(len(a) for _, _, a in reply.tool_calls) // 4 + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _message(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in reply.tool_calls
        ]
    return message


def completion(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A non-streaming chat.completion object."""
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "scripted"),
        "choices": [
            {
                "index": 0,
                "message": _message(reply),
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(request, reply),
    }


def chunks(request: dict[str, Any], reply: Reply) -> Iterator[dict[str, Any]]:
    """The chat.completion.chunk objects of a streamed reply: text in pieces, calls, finish, usage."""
    base = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": int(time.time())}
    base["model"] = request.get("model", "scripted")
    text = reply.content or ""
    for start in range(0, len(text), 8):
        yield {**base, "choices": [{"index": 0, "delta": {"content": text[start : start + 8]}}]}
    for k, (call_id, name, arguments) in enumerate(reply.tool_calls):
        call = {
            "index": k,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        yield {**base, "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}
    finish = "tool_calls" if reply.tool_calls else "stop"
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
    if (request.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": _usage(request, reply)}


def _bad_call(request: dict[str, Any]) -> Reply:
    """A malformed call: broken JSON in a <call> block, or in a native call's arguments."""
    if request.get("tools"):
        return Reply(content="Calling.", tool_calls=[("call_bad", "broken", "{oops")])
    return Reply(content='Calling.\n<call>[{"name": "broken", oops</call>')


def _handler(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else headers and body in two segments wait for a delayed ACK

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return None

        def _send(
            self,
            status: int,
            body: bytes,
            headers: dict[str, str] | None = None,
            kind: str = "application/json",
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self._answered()  # before the client can read the answer and send its next request
            self.end_headers()
            self.wfile.write(body)

        def _answered(self) -> None:
            if getattr(self, "counted", False):
                self.counted = False
                server.answered()

        def _stream(self, request: dict[str, Any], reply: Reply) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self._answered()
            self.end_headers()
            for chunk in chunks(request, reply):
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.close_connection = True

        def do_POST(self) -> None:
            arrived = time.monotonic()
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not self.path.split("?")[0].rstrip("/").endswith("/chat/completions"):
                self._send(404, b'{"error": {"message": "not found"}}')
                return
            request = json.loads(raw)
            fault = server.note(raw, request, self.path, dict(self.headers.items()))
            self.counted = True  # in server.in_flight until answered
            try:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up (a hang)
                    self._answer(request, fault, arrived)
            finally:
                self._answered()

        def _wait(self, arrived: float) -> None:
            """Answer `latency` after the request arrived: the time the scripted model took counts in it."""
            if server.latency:
                time.sleep(max(0.0, server.latency - (time.monotonic() - arrived)))

        def _answer(self, request: dict[str, Any], fault: str | None, arrived: float) -> None:
            if fault == "429":
                retry = {"Retry-After": str(server.faults.retry_after)}
                self._send(429, b'{"error": {"message": "rate limited", "type": "rate_limit"}}', retry)
                return
            if fault == "500":
                self._send(500, b'{"error": {"message": "server error"}}')
                return
            if fault == "hang":
                time.sleep(server.faults.hang_s)
            if fault == "garbage":
                self._wait(arrived)
                self._send(200, b"<html>this is not a completion")
                return
            reply = _bad_call(request) if fault == "bad_call" else server.policy(request)
            self._wait(arrived)
            if reply.raw is not None:
                status, kind, body = reply.raw
                self._send(status, body, kind=kind)
            elif request.get("stream"):
                self._stream(request, reply)
            else:
                self._send(200, json.dumps(completion(request, reply)).encode())

    return Handler


@contextmanager
def serve(policy: Policy, faults: FaultPlan | None = None, latency: float = 0.0) -> Iterator[OpenAIServer]:
    """A started server for the duration of a `with` block."""
    server = OpenAIServer(policy, faults, latency).start()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":
    import argparse
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from world_policy import WorldPolicy  # noqa: E402  (a script next to this file)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with serve(WorldPolicy.for_tasks(args.n, args.seed), latency=args.latency) as live:
        print(live.url, flush=True)
        threading.Event().wait()
