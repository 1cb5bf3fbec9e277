"""A real, slow, faulty endpoint (not a test; opt-in): `button generate` against llama.cpp's own
OpenAI-compatible server (llama-cpp-python[server], serving the SmolLM2-135M GGUF of `make model` on this
machine's CPU) behind a proxy that answers a share of requests with 429, 500, a hang or bytes that are not
UTF-8, as a misbehaving gateway would.

    .venv/bin/pip install "llama-cpp-python[server]"    # builds llama.cpp: over an hour on 2 busy cores
    .venv/bin/python bench/llamacpp.py [--n 10] [--faults 0.3] [--call-format button native]

On the machine this was written on, llama-cpp-python 0.3.36 built from PyPI's sdist with its default
native flags (it detected AVX512 and AMX) crashed with SIGSEGV on its first decode of this model, in
`Llama.create_chat_completion` as well as in the server; build it portable instead:
`CMAKE_ARGS="-DGGML_NATIVE=OFF" .venv/bin/pip install --no-cache-dir "llama-cpp-python[server]"`.
The bench checks that the server answers one request before it starts.

For each call format it prints the exit status, how the conversations ended (termination and the first
words of each error), how many were accepted, and the time; everything lands in
out/llamacpp/<format>.db (`button logs --db ...` shows the conversations). What it checks: every
conversation is stored, an endpoint failure is stored with the endpoint's cause, the faults are retried,
and a run where nothing could be simulated exits non-zero. A 135M model rarely solves the tasks: the
acceptance figure is the model's, not the client's.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from datamodel.models import SMOLLM2_PATH

OUT = Path("out/llamacpp")
FAULTS = ("429", "500", "hang", "garbage")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    raise SystemExit(f"the llama.cpp server did not answer at {url} within {seconds:.0f} s")


def _check_one_reply(url: str, server: subprocess.Popen[bytes]) -> None:
    """One request straight to the server: a build that crashes on its first decode is named here."""
    body = json.dumps({"model": "smollm2", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4})
    request = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120):
            return
    except (OSError, http.client.HTTPException) as error:
        time.sleep(1)
        raise SystemExit(
            f"the llama.cpp server failed its first request ({error}; exit status {server.poll()}): "
            f"see {OUT / 'server.log'}; a native build may need CMAKE_ARGS=-DGGML_NATIVE=OFF"
        ) from None


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, share: float, hang_s: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream, self.share, self.hang_s = upstream, share, hang_s
        self.rng = random.Random(7)
        self.kinds = itertools.cycle(FAULTS)
        self.injected: Counter[str] = Counter()
        self.lock = threading.Lock()

    def pick(self) -> str | None:
        with self.lock:
            if self.rng.random() >= self.share:
                return None
            kind = next(self.kinds)
            self.injected[kind] += 1
            return kind


class _Handler(BaseHTTPRequestHandler):
    server: _Proxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return None

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        fault = self.server.pick()
        if fault == "429":
            self._send(429, b'{"error": {"message": "slow down"}}', {"Retry-After": "1"})
            return
        if fault == "500":
            self._send(500, b'{"error": {"message": "upstream failed"}}')
            return
        if fault == "hang":
            time.sleep(self.server.hang_s)
            return
        request = urllib.request.Request(
            self.server.upstream + self.path, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=600) as answer:
                status, reply = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, reply = error.code, error.read()
        except (OSError, http.client.HTTPException) as error:  # the server is gone: say so, as a gateway does
            self._send(502, json.dumps({"error": {"message": f"upstream: {error}"}}).encode())
            return
        if fault == "garbage":
            reply = b"\xff\xfe" + reply[:40]  # a body cut short and not UTF-8
        self._send(status, reply)


def _run(fmt: str, base_url: str, args: argparse.Namespace) -> None:
    db = OUT / f"{fmt}.db"
    db.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "cli", "generate", "--n", str(args.n), "--workers", "0",
        "--concurrency", str(args.concurrency), "--assistant-model", "openai:smollm2",
        "--base-url", base_url, "--call-format", fmt, "--no-cache", "--max-retries", "4",
        "--timeout", str(args.timeout), "--db", f"sqlite:///{db}",
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    with sqlite3.connect(db) as con:
        ends = con.execute(
            "SELECT termination, substr(coalesce(error, ''), 1, 70), COUNT(*) FROM conversations "
            "GROUP BY 1, 2 ORDER BY 3 DESC"
        ).fetchall()
        stored, accepted = con.execute(
            "SELECT COUNT(*), SUM(status = 'accepted') FROM conversations"
        ).fetchone()
    last = done.stderr.strip().splitlines()[-1:] or done.stdout.strip().splitlines()[-1:]
    print(
        f"\n{fmt}: exit {done.returncode}, {stored}/{args.n} stored, {accepted or 0} accepted, {took:.0f} s"
    )
    print(f"  last line: {last[0] if last else ''}")
    for termination, error, count in ends:
        print(f"  {count:3d} {termination:12s} {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--faults", type=float, default=0.3, help="share of requests the proxy spoils")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="button's --timeout (a hang lasts a little longer)"
    )
    parser.add_argument("--call-format", nargs="+", default=["button", "native"])
    args = parser.parse_args()
    try:
        import llama_cpp  # noqa: F401  (the server below is its module)
    except ImportError:
        install = '.venv/bin/pip install "llama-cpp-python[server]"'
        raise SystemExit(f"llama-cpp-python is not installed: {install}") from None
    if not SMOLLM2_PATH.is_file():
        raise SystemExit(f"no model at {SMOLLM2_PATH}: run `make model`")
    OUT.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(SMOLLM2_PATH),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "8192",
            "--n_threads",
            "2",
            "--model_alias",
            "smollm2",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=(OUT / "server.log").open("w"),
    )
    proxy = _Proxy(f"http://127.0.0.1:{port}", args.faults, hang_s=args.timeout + 5)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        _wait_for(f"http://127.0.0.1:{port}/v1/models", 120)
        _check_one_reply(f"http://127.0.0.1:{port}/v1/chat/completions", server)
        base_url = f"http://127.0.0.1:{proxy.server_address[1]}/v1"
        print(f"llama.cpp server on port {port}, faulty proxy at {base_url} ({args.faults:.0%} of requests)")
        for fmt in args.call_format:
            _run(fmt, base_url, args)
        print(f"\nfaults injected: {dict(proxy.injected)}")
    finally:
        proxy.shutdown()
        server.terminate()
        server.wait(timeout=30)
    if shutil.which("button") is None:
        print("(`button` is not on PATH: activate .venv to read the databases with `button logs`)")


if __name__ == "__main__":
    main()
