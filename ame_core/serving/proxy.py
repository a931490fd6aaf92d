"""The stable front door of a locally served model.

`mlflow models serve` binds its own port, so a new version means a new server on a new port. This
small proxy owns the model's URL for as long as the model is deployed and forwards each request to
the server named in the model's state file, which the deployer rewrites atomically once the new
server is healthy: clients see one URL and no gap while versions change.

Run as `python -m ame_core.serving.proxy --fd N --state FILE`; the deployer binds the listening
socket and hands it over, so the URL is known before this process starts (no port race).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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


class Upstream:
    """The current server's port, re-read whenever the state file is replaced."""

    def __init__(self, state_path: Path) -> None:
        self.state_path = state_path
        self._key: tuple[int, int] | None = None
        self._port: int | None = None
        self._lock = threading.Lock()

    def port(self) -> int | None:
        try:
            stat = self.state_path.stat()
        except FileNotFoundError:
            return None
        key = (stat.st_ino, stat.st_mtime_ns)
        with self._lock:
            if key != self._key:
                try:
                    state = json.loads(self.state_path.read_text())
                except (OSError, ValueError):
                    return self._port  # a half-read file: keep the last good answer
                server = state.get("server") or {}
                self._port = int(server["port"]) if server.get("port") else None
                self._key = key
            return self._port


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, sock: socket.socket, upstream: Upstream) -> None:
        super().__init__(sock.getsockname()[:2], Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.server_name, self.server_port = sock.getsockname()[:2]
        self.upstream = upstream


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
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
        while True:
            port = self.server.upstream.port()
            if port is None:
                self._reply(503, b'{"error": "the model is not deployed"}')
                return
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=UPSTREAM_TIMEOUT)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
                # The server is being replaced: the state file names its successor shortly.
                conn.close()
                if time.monotonic() > deadline:
                    self._reply(502, b'{"error": "the model server is not answering"}')
                    return
                time.sleep(0.1)
                continue
            except OSError as exc:
                conn.close()
                self._reply(502, json.dumps({"error": f"model server: {exc}"}).encode())
                return
            conn.close()
            self.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
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
    server = ProxyServer(sock, Upstream(state_path))
    threading.Thread(target=_watch, args=(state_path, server), daemon=True).start()
    print(f"ame proxy {os.getpid()} on {server.server_name}:{server.server_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
