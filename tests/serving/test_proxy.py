"""The model proxy as a process, in front of two real HTTP servers standing in for two model
versions: every response says which version answered, a canary share is split by weight, and
what each server answered is written for the rollout's gate. (The model servers themselves are
tested with real `mlflow models serve` in test_serving_faults.py; here the point is the split.)"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ame_core.serving.proxy import VERSION_HEADER, read_traffic


def version_server(version: str, status: int = 200) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"predictions": [int(version)]}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def entry(version: str, server: ThreadingHTTPServer, pid: int) -> dict:
    return {"port": server.server_address[1], "version": version, "pid": pid}


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[str, Path, list[ThreadingHTTPServer]]]:
    stable, canary, failing = version_server("1"), version_server("2"), version_server("3", 500)
    state = tmp_path / "serving" / "m.json"
    state.parent.mkdir()
    state.write_text(json.dumps({"model": "m", "server": entry("1", stable, 101)}))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "ame_core.serving.proxy", "--fd", str(sock.fileno()),
         "--state", str(state)],
        pass_fds=(sock.fileno(),),
    )  # fmt: skip
    sock.close()
    try:
        yield f"http://127.0.0.1:{port}", state, [stable, canary, failing]
    finally:
        process.kill()
        process.wait(10)
        for server in (stable, canary, failing):
            server.shutdown()


def post(url: str) -> tuple[int, str | None]:
    request = urllib.request.Request(
        f"{url}/invocations", data=b'{"inputs": [[1]]}', method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get(VERSION_HEADER)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get(VERSION_HEADER)


def replace_state(state: Path, data: dict) -> None:
    tmp = state.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, state)  # as the deployer writes it: atomically


def test_every_response_names_its_version_and_a_canary_takes_its_share(proxy) -> None:
    url, state, (stable, canary, failing) = proxy
    deadline = time.monotonic() + 20
    while True:  # the proxy process is starting
        try:
            first = post(url)
            break
        except OSError:
            assert time.monotonic() < deadline, "the proxy never answered"
            time.sleep(0.1)
    assert first == (200, "1")

    replace_state(
        state,
        {"model": "m", "server": entry("1", stable, 101),
         "canary": {"server": entry("2", canary, 202), "percent": 50}},
    )  # fmt: skip
    answers = [post(url) for _ in range(300)]
    assert {status for status, _ in answers} == {200}
    twos = sum(1 for _, version in answers if version == "2")
    # 300 draws at p=0.5: outside 110..190 is a > 5 sigma event.
    assert 110 <= twos <= 190, twos
    assert {version for _, version in answers} == {"1", "2"}

    # A canary that fails: its failures are its own in the figures, with its version.
    replace_state(
        state,
        {"model": "m", "server": entry("1", stable, 101),
         "canary": {"server": entry("3", failing, 303), "percent": 20}},
    )  # fmt: skip
    answers = [post(url) for _ in range(200)]
    assert {(s, v) for s, v in answers} == {(200, "1"), (500, "3")}
    deadline = time.monotonic() + 10
    while "303" not in read_traffic(state) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)  # the next write has every request of this round
    figures = read_traffic(state)
    failed = sum(1 for s, _ in answers if s == 500)
    assert figures["303"]["version"] == "3"
    assert figures["303"]["requests"] == figures["303"]["errors"] == failed
    assert figures["202"]["requests"] == twos and figures["202"]["errors"] == 0
    assert figures["101"]["requests"] == 1 + (300 - twos) + (200 - failed)
    assert len(figures["101"]["latency_ms"]) == figures["101"]["requests"]
    # Beside the state files, never among them (each `*.json` there is a served model).
    assert not list(state.parent.glob("*.traffic*"))

    # Undeployed: nothing answers, and it says so.
    state.unlink()
    assert post(url) == (503, None)
