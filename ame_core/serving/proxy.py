"""The stable front door of a locally served model.

`mlflow models serve` binds its own port, so a new version means a new server on a new port. This
small proxy owns the model's URL for as long as the model is deployed and forwards each request to
the server named in the model's state file, which the deployer rewrites atomically once the new
server is healthy: clients see one URL and no gap while versions change.

During a canary rollout the state also names the canary's server and its share of requests
(`"canary": {"server": {...}, "percent": 20}`): each request goes to one of the two by weight.
Every response carries `AME-Model-Version: <n>`, the version that answered. What each server
answered (requests, failures, latencies) is written every second to `traffic/<model>.json` beside
the state file, keyed by the server's pid, so a rollout's gate judges the canary on its own
requests. Every request but a health probe also goes to the model's request log
(`ame_core.monitoring.request_log`: status, latency and sampled input rows, for `ame model
monitor`), unless `AME_REQUEST_LOG=off`.

Run as `python -m ame_core.serving.proxy --fd N --state FILE`; the deployer binds the listening
socket and hands it over, so the URL is known before this process starts (no port race).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ame_core.atomic_files import atomic_write
from ame_core.monitoring.request_log import RequestLog, Settings

# Headers that describe one connection, not the message (RFC 9110 §7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
# How long a request may wait for a server that is being replaced (refused connections).
RETRY_FOR = 3.0
UPSTREAM_TIMEOUT = 300.0


VERSION_HEADER = "AME-Model-Version"
# Latencies kept per server for the gate's p95: the newest ones, bounded in memory and on disk.
LATENCY_SAMPLES = 5000


@dataclass(frozen=True)
class Target:
    port: int
    version: str
    pid: int | None


def _target(server: dict | None) -> Target | None:
    if not server or not server.get("port"):
        return None
    pid = server.get("pid")
    return Target(int(server["port"]), str(server.get("version") or ""), int(pid) if pid else None)


class Upstream:
    """The current server (and canary), re-read whenever the state file is replaced."""

    def __init__(self, state_path: Path) -> None:
        self.state_path = state_path
        self._key: tuple[int, int] | None = None
        self._stable: Target | None = None
        self._canary: Target | None = None
        self._percent = 0.0
        self._lock = threading.Lock()

    def _reload(self) -> None:
        try:
            stat = self.state_path.stat()
        except FileNotFoundError:
            self._key, self._stable, self._canary = None, None, None
            return
        key = (stat.st_ino, stat.st_mtime_ns)
        if key == self._key:
            return
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return  # a half-read file: keep the last good answer
        canary = state.get("canary") or {}
        self._stable = _target(state.get("server"))
        self._canary = _target(canary.get("server"))
        self._percent = float(canary.get("percent") or 0)
        self._key = key

    def pick(self) -> Target | None:
        """Where the next request goes: the canary for its share of requests, else stable."""
        with self._lock:
            self._reload()
            stable, canary = self._stable, self._canary
            if canary is not None and (stable is None or random.random() * 100 < self._percent):
                return canary
            return stable


class Traffic:
    """What each server answered, written to `traffic/<model>.json` by a background thread."""

    def __init__(self, state_path: Path) -> None:
        self.path = traffic_path(state_path)
        self._lock = threading.Lock()
        self._servers: dict[str, dict] = {}
        self._dirty = False

    def record(self, target: Target, status: int, seconds: float) -> None:
        key = str(target.pid or target.port)
        with self._lock:
            entry = self._servers.setdefault(
                key,
                {"version": target.version, "requests": 0, "errors": 0, "latency_ms": []},
            )
            entry["requests"] += 1
            # A failure is any answer >= 400: MLflow's scoring server answers 400 when the model
            # itself raises, so a canary that breaks on every input shows here.
            entry["errors"] += 1 if status >= 400 else 0
            entry["server_errors"] = entry.get("server_errors", 0) + (1 if status >= 500 else 0)
            samples = entry["latency_ms"]
            samples.append(round(seconds * 1000, 2))
            if len(samples) > LATENCY_SAMPLES:
                del samples[: len(samples) - LATENCY_SAMPLES]
            entry["last_at"] = time.time()
            self._dirty = True

    def flush(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            data = json.dumps({"servers": self._servers, "written_at": time.time()})
            self._dirty = False
        try:
            atomic_write(self.path, data)
        except OSError:
            pass  # the figures are advisory; serving goes on

    def run(self) -> None:
        while True:
            time.sleep(1.0)
            self.flush()


HEALTH_PATHS = ("/ping", "/health", "/v2/health/")


def _is_health(path: str) -> bool:
    return path.split("?", 1)[0].startswith(HEALTH_PATHS)


def traffic_path(state_path: Path) -> Path:
    # Not beside the states themselves: every `*.json` there is a served model.
    return state_path.parent / "traffic" / state_path.name


def read_traffic(state_path: Path) -> dict[str, dict]:
    """The proxy's figures per server pid (empty when none were written yet)."""
    try:
        return dict(json.loads(traffic_path(state_path).read_text()).get("servers") or {})
    except (OSError, ValueError):
        return {}


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        sock: socket.socket,
        upstream: Upstream,
        traffic: Traffic,
        requests: RequestLog | None = None,
    ) -> None:
        super().__init__(sock.getsockname()[:2], Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.server_name, self.server_port = sock.getsockname()[:2]
        self.upstream = upstream
        self.traffic = traffic
        self.requests = requests


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the second waits for the
    # client's delayed ACK (~40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True
    server: ProxyServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # one line per request would grow the log without bound

    def _forward(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._reply(411, b'{"error": "chunked request bodies are not supported"}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        deadline = time.monotonic() + RETRY_FOR
        started = time.monotonic()
        while True:
            target = self.server.upstream.pick()
            if target is None:
                self._reply(503, b'{"error": "the model is not deployed"}')
                return
            conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=UPSTREAM_TIMEOUT)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
                # The server is being replaced: the state file names its successor shortly.
                conn.close()
                if time.monotonic() > deadline:
                    self._failed(target, started, b'{"error": "the model server is not answering"}')
                    return
                time.sleep(0.1)
                continue
            except OSError as exc:
                conn.close()
                error = json.dumps({"error": f"model server: {exc}"}).encode()
                self._failed(target, started, error)
                return
            conn.close()
            if not _is_health(self.path):  # a probe is not traffic: it would skew the gate
                self._record(target, response.status, started, body)
            self.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                lower = key.lower()
                if lower not in HOP_BY_HOP and lower not in ("content-length", "ame-model-version"):
                    self.send_header(key, value)
            self.send_header(VERSION_HEADER, target.version)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return

    def _record(self, target: Target, status: int, started: float, body: bytes | None) -> None:
        seconds = time.monotonic() - started
        self.server.traffic.record(target, status, seconds)
        if self.server.requests is not None:
            sent = body if self.command == "POST" else None
            kind = self.headers.get("Content-Type", "")
            self.server.requests.add(target.version, status, seconds * 1000, sent, kind)

    def _failed(self, target: Target, started: float, error: bytes) -> None:
        """A request the chosen server did not answer: a failure of that version."""
        self._record(target, 502, started, None)
        self._reply(502, error, version=target.version)

    def _reply(self, status: int, body: bytes, version: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if version:
            self.send_header(VERSION_HEADER, version)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


def _ours(state_path: Path) -> bool:
    """Does the model's state file still name this process as its proxy? (A half-written or
    unreadable file counts as yes: only a clear answer stops a proxy.)"""
    try:
        state = json.loads(state_path.read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    proxy = state.get("proxy") or {}
    return not proxy.get("pid") or int(proxy["pid"]) == os.getpid()


def _watch(state_path: Path, server: ProxyServer) -> None:
    """Exit once the model is undeployed (its state file is gone) or the state names another
    proxy (a deployer died before recording this one), so no proxy outlives its model. The
    deployer records a new proxy a moment after starting it: only a lasting answer counts."""
    orphan_since: float | None = None
    while True:
        time.sleep(1.0)
        if _ours(state_path):
            orphan_since = None
            continue
        orphan_since = orphan_since or time.monotonic()
        if time.monotonic() - orphan_since > 5.0:
            server.shutdown()
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ame_core.serving.proxy")
    parser.add_argument("--fd", type=int, required=True, help="listening socket to serve on")
    parser.add_argument("--state", required=True, help="the model's serving state file")
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.fd)
    state_path = Path(args.state)
    traffic = Traffic(state_path)
    settings = Settings.from_env()
    # Beside the states, like traffic/: every `*.json` directly there is a served model.
    folder = state_path.parent / "requests" / state_path.stem
    requests = RequestLog(folder, settings) if settings.enabled else None
    server = ProxyServer(sock, Upstream(state_path), traffic, requests)
    threading.Thread(target=_watch, args=(state_path, server), daemon=True).start()
    threading.Thread(target=traffic.run, daemon=True).start()
    if requests is not None:
        threading.Thread(target=requests.run, daemon=True).start()
    print(f"ame proxy {os.getpid()} on {server.server_name}:{server.server_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        traffic.flush()
        if requests is not None:
            requests.flush()  # the last second's requests, once undeployed
    return 0


if __name__ == "__main__":
    sys.exit(main())
