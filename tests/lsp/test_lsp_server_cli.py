"""The ame-lsp command: TCP mode for debugging, and position encodings negotiated per client."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest_lsp
from lsp_support import SERVER_COMMAND, init_params, make_client, open_doc, wait_for_publish
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from ame_core.net import free_port


def _frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read_message(sock: socket.socket) -> dict:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        ).split(b":")[1]
    )
    while len(rest) < length:
        rest += sock.recv(4096)
    return json.loads(rest[:length])


def test_tcp_mode(tmp_path: Path):
    port = free_port()
    proc = subprocess.Popen(
        [*SERVER_COMMAND, "--tcp", "--host", "127.0.0.1", "--port", str(port)],
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(300):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(proc.stderr.read().decode()) from None
                time.sleep(0.1)
        else:
            raise AssertionError("ame-lsp --tcp never listened")
        with sock:
            sock.settimeout(60)
            sock.sendall(
                _frame(
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "initialize",
                        "params": {"processId": None, "rootUri": None, "capabilities": {}},
                    }
                )
            )
            reply = _read_message(sock)
            assert reply["id"] == 1
            caps = reply["result"]["capabilities"]
            assert caps["completionProvider"] and caps["hoverProvider"] and caps["renameProvider"]
            assert caps["textDocumentSync"]["change"] == 2  # incremental
            assert reply["result"]["serverInfo"]["name"] == "ame-lsp"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


EMOJI = 'project: emoji\ntasks:\n  - name: a\n    executor: !custom {command: x}\n    resources: {memory: "😀", cpu: four}\n'


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client),
    params=[["utf-32", "utf-16"], ["utf-16"], None],
)
async def enc_client(lsp_client: LanguageClient, request, tmp_path: Path):
    result = await lsp_client.initialize_session(init_params(tmp_path, encodings=request.param))
    lsp_client.negotiated = result.capabilities.position_encoding  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_position_encoding(enc_client: LanguageClient, tmp_path: Path):
    path = tmp_path / "ame.yml"
    path.write_text(EMOJI)
    doc_uri = open_doc(enc_client, path)
    published = await wait_for_publish(enc_client, doc_uri, 1)
    four = next(d for d in published.diagnostics if "four" in d.message)
    line = EMOJI.split("\n")[4]
    code_points = line.index("four")
    negotiated = enc_client.negotiated  # type: ignore[attr-defined]
    if negotiated == "utf-32":
        assert four.range.start.character == code_points
    else:
        assert negotiated in ("utf-16", None)
        assert four.range.start.character == code_points + 1  # the emoji is two UTF-16 units
    # And back: a hover at the client's column of `four` lands on it.
    hover = await enc_client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=doc_uri), position=four.range.start
        )
    )
    assert hover is not None and "four" in hover.contents.value
