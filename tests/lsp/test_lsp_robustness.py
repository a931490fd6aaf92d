"""The server never dies: random edits with requests in between, a feature that fails, TCP."""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import pytest
import pytest_lsp
from lsp_support import (
    APP,
    SERVER_COMMAND,
    init_params,
    make_client,
    make_workspace,
    open_doc,
    wait_for_publish,
    workspace_session,
)
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from ame_core.engine import analyze

pytestmark = pytest.mark.asyncio(loop_scope="module")

SNIPPETS = [
    "!",
    "!pip",
    ":",
    " ",
    "\n",
    "\n  - ",
    "- ",
    "taskRef: ",
    "fromTemplate: shared_templates.",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "<<: *a\n",
    "'",
    '"',
    "#",
    "\t",
    "é",
    "😀",
    "---\n",
    "...",
    "executor: !poetry {pythonVersion: 3.10}",
    "resources:\n  cpu: 10GB\n",
    "schedule: '61 * * * *'",
    "\n    pipeline:\n      - - taskRef: fetch\n",
    "    ",
]


ws, client = workspace_session("fuzz", debounce_ms=10, encodings=["utf-16"])


def _position(text: str, rng: random.Random) -> types.Position:
    lines = text.split("\n")
    line = rng.randrange(len(lines))
    # UTF-16 units of the line (the session speaks UTF-16)
    units = len(lines[line].encode("utf-16-le")) // 2
    return types.Position(line=line, character=rng.randint(0, units))


async def _requests(client: LanguageClient, doc_uri: str, text: str, rng: random.Random) -> None:
    td = types.TextDocumentIdentifier(uri=doc_uri)
    p = _position(text, rng)
    whole = types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=len(text.split("\n")), character=0),
    )
    calls = [
        client.text_document_completion_async(types.CompletionParams(text_document=td, position=p)),
        client.text_document_hover_async(types.HoverParams(text_document=td, position=p)),
        client.text_document_definition_async(types.DefinitionParams(text_document=td, position=p)),
        client.text_document_references_async(
            types.ReferenceParams(
                text_document=td,
                position=p,
                context=types.ReferenceContext(include_declaration=True),
            )
        ),
        client.text_document_prepare_rename_async(
            types.PrepareRenameParams(text_document=td, position=p)
        ),
        client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=td)),
        client.text_document_folding_range_async(types.FoldingRangeParams(text_document=td)),
        client.text_document_semantic_tokens_full_async(
            types.SemanticTokensParams(text_document=td)
        ),
        client.text_document_inlay_hint_async(types.InlayHintParams(text_document=td, range=whole)),
        client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=td,
                range=types.Range(start=p, end=p),
                context=types.CodeActionContext(diagnostics=[]),
            )
        ),
        client.text_document_diagnostic_async(types.DocumentDiagnosticParams(text_document=td)),
    ]
    await asyncio.wait_for(asyncio.gather(*calls), timeout=120)


def _utf16_offset(text: str, position: types.Position) -> int:
    lines = text.split("\n")
    offset = sum(len(line) + 1 for line in lines[: position.line])
    line = lines[position.line]
    units = 0
    for i, ch in enumerate(line):
        if units >= position.character:
            return offset + i
        units += 2 if ord(ch) > 0xFFFF else 1
    return offset + len(line)


async def test_random_edits_never_kill_the_server(client: LanguageClient, ws):
    # AME_FUZZ_SEED and AME_FUZZ_STEPS make a longer hunt by hand; CI runs the default.
    rng = random.Random(int(os.environ.get("AME_FUZZ_SEED", "20261128")))
    text = APP
    doc_uri = open_doc(client, ws["app"], text)
    version = 1
    for step in range(int(os.environ.get("AME_FUZZ_STEPS", "300"))):
        start = _position(text, rng)
        end = start
        if rng.random() < 0.4:
            end = _position(text, rng)
            if (end.line, end.character) < (start.line, start.character):
                start, end = end, start
        new = (
            rng.choice(SNIPPETS)
            if rng.random() < 0.8
            else "".join(rng.choice(SNIPPETS) for _ in range(3))
        )
        version += 1
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=doc_uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=start, end=end), text=new
                    )
                ],
            )
        )
        text = text[: _utf16_offset(text, start)] + new + text[_utf16_offset(text, end) :]
        if step % 3 == 0:
            await _requests(client, doc_uri, text, rng)
        if rng.random() < 0.05:
            text = APP  # back to a valid file now and then, so deep features run too
            version += 1
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(
                        uri=doc_uri, version=version
                    ),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )
    # Still alive and answering, and its diagnostics are for the last text.
    published = await wait_for_publish(client, doc_uri, version, since=0)
    assert published.version == version
    # What was published for the last version is what the engine says about that text.
    expected = analyze(text, str(ws["app"]), None)
    got = sorted((str(d.code), d.range.start.line, d.message) for d in published.diagnostics)
    want = sorted((d.code, d.range.start_line, d.message) for d in expected.diagnostics)
    assert [g[:2] for g in got] == [w[:2] for w in want]
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=doc_uri))
    )
    assert symbols is not None
    assert client._server is not None and client._server.returncode is None  # type: ignore[attr-defined]
    failures = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
    assert failures == [], failures[:3]


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=SERVER_COMMAND,
        client_factory=make_client,
        server_env={**os.environ, "AME_LSP_FAULT": "hover,completion"},
    ),
    scope="module",
)
async def faulty(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    await lsp_client.initialize_session(init_params(tmp_path_factory.mktemp("faulty")))
    yield
    await lsp_client.shutdown_session()


async def test_a_failing_feature_is_logged_and_answered_empty(
    faulty: LanguageClient, tmp_path: Path
):
    ws = make_workspace(tmp_path)
    doc_uri = open_doc(faulty, ws["app"])
    td = types.TextDocumentIdentifier(uri=doc_uri)
    position = types.Position(line=1, character=0)
    hover = await faulty.text_document_hover_async(
        types.HoverParams(text_document=td, position=position)
    )
    assert hover is None
    completion = await faulty.text_document_completion_async(
        types.CompletionParams(text_document=td, position=position)
    )
    assert completion is not None and list(completion.items) == []
    errors = [m.message for m in faulty.log_messages if m.type == types.MessageType.Error]
    assert any("hover failed" in m for m in errors) and any(
        "completion failed" in m for m in errors
    )
    # Every other feature still works, and so do diagnostics.
    await wait_for_publish(faulty, doc_uri, 1)
    symbols = await faulty.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=td)
    )
    assert symbols
