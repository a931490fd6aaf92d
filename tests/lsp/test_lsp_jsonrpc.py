"""JSON-RPC as the spec says, over the server's real stdio: every request is answered (an error
response for malformed params and after `shutdown`), and `exit` ends the process with 0 after
`shutdown`, 1 without. Raw frames, since a typed client cannot send malformed params."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from lsp_support import SERVER_COMMAND

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "initialized", "params": {}}
SHUTDOWN = {"jsonrpc": "2.0", "id": 90, "method": "shutdown"}
EXIT = {"jsonrpc": "2.0", "method": "exit"}
HOVER = {
    "textDocument": {"uri": "file:///nowhere/ame.yml"},
    "position": {"line": 0, "character": 0},
}


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _session(*messages: dict[str, Any]) -> tuple[int, dict[Any, dict[str, Any]]]:
    """Send the messages, close stdin after `exit`; the exit code and the responses by id."""
    proc = subprocess.run(
        SERVER_COMMAND,
        input=b"".join(_frame(m) for m in messages),
        capture_output=True,
        timeout=60,
    )
    responses: dict[Any, dict[str, Any]] = {}
    data = proc.stdout
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        headers = dict(line.split(b":", 1) for line in head.split(b"\r\n"))
        length = int(headers[b"Content-Length"])
        message = json.loads(rest[:length])
        data = rest[length:]
        if "id" in message and "method" not in message:
            responses[message["id"]] = message
    return proc.returncode, responses


def test_malformed_params_get_an_invalid_params_error_response():
    bad = {"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": {"x": 5}}
    after = {"jsonrpc": "2.0", "id": 3, "method": "textDocument/hover", "params": HOVER}
    code, responses = _session(INITIALIZE, INITIALIZED, bad, after, SHUTDOWN, EXIT)
    assert responses[2]["error"]["code"] == -32602
    assert "textDocument/hover" in responses[2]["error"]["message"]
    assert "error" not in responses[3]  # the server goes on answering
    assert code == 0


def test_a_request_after_shutdown_gets_an_error_response():
    late = {"jsonrpc": "2.0", "id": 4, "method": "textDocument/hover", "params": HOVER}
    code, responses = _session(INITIALIZE, INITIALIZED, SHUTDOWN, late, EXIT)
    assert responses[90]["result"] is None
    assert responses[4]["error"]["code"] == -32600
    assert "shut down" in responses[4]["error"]["message"]
    assert code == 0


def test_exit_without_shutdown_exits_1():
    code, _ = _session(INITIALIZE, INITIALIZED, EXIT)
    assert code == 1
