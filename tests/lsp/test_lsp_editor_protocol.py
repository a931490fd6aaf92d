"""What real editors tripped over (issue 13), through the real server process: diagnostics pushed
or pulled (never both), workspace folders added and removed later, CRLF documents, hover
previews and titles, syntax errors where the construct opens."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsp_support import (
    SERVER_COMMAND,
    codes,
    init_params,
    make_client,
    open_doc,
    pos,
    replace_all,
    uri,
    wait_for_publish,
)
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALPHA = """\
project: alpha
tasks:
  - name: fetch
    executor: !pip
      pythonVersion: "3.11"
      command: python fetch.py
  - name: train
    fromTemplate: beta.big
    executor: !pip
      pythonVersion: "3.11"
      command: python train.py
  - name: flow
    pipeline:
      - taskRef: fetch
"""

BETA = """\
project: beta
templates:
  - name: big
    resources:
      cpu: 8
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("editors")
    (root / "alpha").mkdir()
    (root / "beta").mkdir()
    (root / "alpha" / "ame.yml").write_text(ALPHA)
    (root / "alpha" / "requirements.txt").write_text("")
    (root / "beta" / "ame.yml").write_text(BETA)
    return {"alpha": root / "alpha" / "ame.yml", "beta": root / "beta" / "ame.yml"}


config = ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client)


@pytest_lsp.fixture(config=config, scope="module")
async def push(lsp_client: LanguageClient, ws: dict[str, Path]):
    """VS Code 1.65's capabilities: no pull diagnostics; workspace folder A (alpha) only."""
    result = await lsp_client.initialize_session(
        init_params(ws["alpha"].parent, options={"debounceMs": 10})
    )
    lsp_client.init_result = result  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def _pulling_capabilities() -> types.ClientCapabilities:
    caps = client_capabilities("neovim")
    assert caps.workspace is not None
    caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    return caps


@pytest_lsp.fixture(config=config, scope="module")
async def pull(lsp_client: LanguageClient, ws: dict[str, Path]):
    """A client that pulls and can be told to pull again (recent VS Code)."""
    root = ws["alpha"].parent.parent
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=_pulling_capabilities(),
            workspace_folders=[types.WorkspaceFolder(uri=uri(root), name="w")],
            initialization_options={"debounceMs": 10},
        )
    )
    lsp_client.init_result = result  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


# --- push or pull, never both (Neovim 0.11 showed every diagnostic twice) -------------------------


async def test_a_client_that_cannot_pull_gets_pushes_and_no_pull_offer(
    push: LanguageClient, ws: dict[str, Path]
):
    assert push.init_result.capabilities.diagnostic_provider is None  # type: ignore[attr-defined]
    doc = open_doc(push, ws["alpha"])
    published = await wait_for_publish(push, doc)
    assert "AME206" in codes(published)  # `beta` is not in this workspace (yet)


async def test_a_pulling_client_gets_no_pushes(pull: LanguageClient, ws: dict[str, Path]):
    assert pull.init_result.capabilities.diagnostic_provider is not None  # type: ignore[attr-defined]
    broken = ws["alpha"].parent.parent / "pulled" / "ame.yml"
    broken.parent.mkdir()
    broken.write_text(
        "project: pulled\ntasks:\n  - name: t\n    executor: !custom {command: ./run}\n"
        "    resources:\n      memory: 10GB\n"
    )
    doc = open_doc(pull, broken)
    report = await pull.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=doc))
    )
    assert [d.code for d in report.items] == ["AME301"]
    replace_all(pull, doc, 2, "project: pulled\n")
    report = await pull.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=doc))
    )
    assert not report.items
    # Both answers came after the server had the text it would have pushed for.
    assert [p for p in pull.published if p.uri == doc] == []  # type: ignore[attr-defined]


async def test_a_pulling_client_is_told_to_pull_when_another_file_changes(
    pull: LanguageClient, ws: dict[str, Path]
):
    doc = open_doc(pull, ws["alpha"])
    report = await pull.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=doc))
    )
    assert "AME206" not in [d.code for d in report.items]  # beta is in this workspace
    before = pull.refreshes  # type: ignore[attr-defined]
    beta = open_doc(pull, ws["beta"])
    replace_all(pull, beta, 2, BETA.replace("name: big", "name: huge"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while pull.refreshes == before and loop.time() < deadline:  # type: ignore[attr-defined]
        await asyncio.sleep(0.02)
    assert pull.refreshes > before  # type: ignore[attr-defined]
    report = await pull.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=doc))
    )
    assert any("big" in d.message for d in report.items), report.items  # beta.big is gone
    replace_all(pull, beta, 3, BETA)


async def test_neovim_0_11_gets_pushes_only():
    # It pulls but cannot be told to pull again when another file changes: pushes keep
    # cross-file diagnostics current, and pull is not offered (else it keeps both).
    from ame_lsp.diagnostics import client_pulls

    assert not client_pulls(client_capabilities("neovim"))
    assert client_pulls(_pulling_capabilities())


# --- workspace folders added and removed later -----------------------------------------------


async def test_workspace_folders_added_and_removed_are_indexed(
    push: LanguageClient, ws: dict[str, Path]
):
    since = len(push.published)  # type: ignore[attr-defined]
    doc = open_doc(push, ws["alpha"], version=5)
    await wait_for_publish(push, doc, 5, since=since)
    since = len(push.published)  # type: ignore[attr-defined]
    beta_folder = types.WorkspaceFolder(uri=uri(ws["beta"].parent), name="beta")
    push.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(added=[beta_folder], removed=[])
        )
    )
    published = await wait_for_publish(push, doc, since=since)
    assert "AME206" not in codes(published), published.diagnostics
    where = pos(ALPHA, "beta.big", 6)
    found = await push.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=doc), position=where)
    )
    assert found and found[0].uri == uri(ws["beta"])  # type: ignore[index, union-attr]

    since = len(push.published)  # type: ignore[attr-defined]
    push.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(added=[], removed=[beta_folder])
        )
    )
    published = await wait_for_publish(push, doc, since=since)
    assert "AME206" in codes(published)
    found = await push.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=doc), position=where)
    )
    assert not found


# --- CRLF, hover preview and title, syntax errors --------------------------------------------


async def test_completion_in_a_crlf_document_inserts_crlf(
    push: LanguageClient, ws: dict[str, Path]
):
    text = "project: crlf\r\ntasks:\r\n  - name: t\r\n    \r\n"
    path = ws["alpha"].parent.parent / "crlf" / "ame.yml"
    doc = open_doc(push, path, text=text)
    result = await push.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=doc),
            position=types.Position(line=3, character=4),
        )
    )
    assert result is not None
    items = result.items if isinstance(result, types.CompletionList) else result
    inserted = [(i.text_edit.new_text if i.text_edit else i.insert_text) or i.label for i in items]
    multi_line = [t for t in inserted if "\n" in t]
    assert multi_line, inserted  # e.g. `executor:` with its fields
    assert all(t.replace("\r\n", "").count("\n") == 0 for t in multi_line), multi_line


async def test_hover_preview_is_the_item_as_written(push: LanguageClient, ws: dict[str, Path]):
    doc = open_doc(push, ws["alpha"])
    hover = await push.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=doc),
            position=pos(ALPHA, "taskRef: fetch", 10),
        )
    )
    assert hover is not None
    value = hover.contents.value  # type: ignore[union-attr]
    preview = value.split("```yaml\n", 1)[1].split("\n```", 1)[0]
    assert preview == (
        '- name: fetch\n  executor: !pip\n    pythonVersion: "3.11"\n    command: python fetch.py'
    )
    assert "alpha/ame.yml, line 3" in value


async def test_hover_title_of_an_untitled_document(push: LanguageClient):
    doc = "untitled:Untitled-1"
    push.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=doc, language_id="ame", version=1, text=ALPHA)
        )
    )
    hover = await push.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=doc),
            position=pos(ALPHA, "taskRef: fetch", 10),
        )
    )
    assert hover is not None
    title = hover.contents.value.split("\n", 1)[0]  # type: ignore[union-attr]
    assert title == "**task alpha.fetch** — untitled:Untitled-1, line 3"


async def test_an_unterminated_string_is_reported_where_it_opens(
    push: LanguageClient, ws: dict[str, Path]
):
    text = (
        "project: syntax\ntasks:\n  - name: t\n    executor: !custom\n"
        '      pythonVersion: "3.11"\n      command: "unterminated\n    resources:\n      cpu: 1\n'
    )
    path = ws["alpha"].parent.parent / "syntax" / "ame.yml"
    doc = open_doc(push, path, text=text)
    published = await wait_for_publish(push, doc)
    (found,) = published.diagnostics
    assert found.code == "AME001"
    assert (found.range.start.line, found.range.start.character) == (5, 15)  # the `"`, 6:16
    assert "not closed" in found.message
    (end,) = found.related_information or []
    assert end.location.uri == doc
    assert end.location.range.start.line == 8  # the end of the file, 9:1
