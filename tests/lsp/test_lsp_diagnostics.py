"""Diagnostics end to end: incremental sync, debounce settings, versions, close, pull, and
re-checking the files that depend on an edited or changed workspace file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsp_support import (
    APP,
    SHARED,
    change,
    codes,
    open_doc,
    pos,
    replace_all,
    uri,
    wait_for_publish,
    workspace_session,
)
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


ws, client = workspace_session("diag", debounce_ms=100)


def _new_file(ws: dict[str, Path], name: str, text: str) -> Path:
    path = ws["app"].parent.parent / name / "ame.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    (path.parent / "requirements.txt").touch()  # `!pip` needs one (else AME403)
    return path


BROKEN = 'project: broken\ntasks:\n  - name: a\n    executor: !pip\n      pythonVersion: "3.11"\n      command: x\n    resources:\n      cpu: four\n'


async def test_open_publishes_with_version(client: LanguageClient, ws):
    doc_uri = open_doc(client, _new_file(ws, "open1", BROKEN), version=7)
    published = await wait_for_publish(client, doc_uri)
    assert published.version == 7
    assert codes(published) == ["AME301"]
    bad = published.diagnostics[0]
    assert bad.range.start == pos(BROKEN, "four") and bad.source == "ame"
    assert bad.severity == types.DiagnosticSeverity.Error


async def test_incremental_edits(client: LanguageClient, ws):
    doc_uri = open_doc(client, _new_file(ws, "inc", BROKEN))
    await wait_for_publish(client, doc_uri, 1)
    at = pos(BROKEN, "four")
    # Replace `four` by `4`: fixed.
    change(client, doc_uri, 2, (at.line, at.character), (at.line, at.character + 4), "4")
    assert codes(await wait_for_publish(client, doc_uri, 2)) == []
    # Insert a line with a typo'd key above: the range of the new error is on the new line.
    change(client, doc_uri, 3, (3, 0), (3, 0), "    enviroment: []\n")
    published = await wait_for_publish(client, doc_uri, 3)
    assert codes(published) == ["AME103"]
    assert published.diagnostics[0].range.start.line == 3


async def test_stale_versions_are_never_published(client: LanguageClient, ws):
    doc_uri = open_doc(client, _new_file(ws, "stale", BROKEN))
    await wait_for_publish(client, doc_uri, 1)
    start = len(client.published)  # type: ignore[attr-defined]
    at = pos(BROKEN, "four")
    text = BROKEN
    for version in range(2, 12):  # ten quick edits, no waiting in between
        new = f"{version}"
        change(
            client,
            doc_uri,
            version,
            (at.line, at.character),
            (at.line, at.character + len(text.split("\n")[at.line]) - at.character),
            new,
        )
        lines = text.split("\n")
        lines[at.line] = lines[at.line][: at.character] + new
        text = "\n".join(lines)
    final = await wait_for_publish(client, doc_uri, 11, since=start)
    assert codes(final) == []
    # A barrier instead of a pause: one more edit, and its publish. A stale version's publish
    # would be in flight before it, so it would be in the list by now.
    change(client, doc_uri, 12, (at.line, at.character), (at.line, at.character + 2), "12")
    await wait_for_publish(client, doc_uri, 12, since=start)
    versions = [p.version for p in client.published[start:] if p.uri == doc_uri]  # type: ignore[attr-defined]
    assert versions == [11, 12]


async def test_close_clears_diagnostics(client: LanguageClient, ws):
    doc_uri = open_doc(client, _new_file(ws, "closing", BROKEN))
    assert codes(await wait_for_publish(client, doc_uri, 1)) == ["AME301"]
    start = len(client.published)  # type: ignore[attr-defined]
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=doc_uri))
    )
    cleared = await wait_for_publish(client, doc_uri, since=start)
    assert list(cleared.diagnostics) == []


async def test_pull_diagnostics(client: LanguageClient, ws):
    doc_uri = open_doc(client, _new_file(ws, "pull", BROKEN))
    report = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=doc_uri))
    )
    assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
    assert [d.code for d in report.items] == ["AME301"]
    again = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=doc_uri),
            previous_result_id=report.result_id,
        )
    )
    assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)


async def test_debounce_from_configuration(client: LanguageClient, ws):
    doc_uri = open_doc(client, _new_file(ws, "debounce", BROKEN))
    await wait_for_publish(client, doc_uri, 1)
    # VS Code's shape: {"settings": {"debounceMs": N}}. A long debounce holds the push back...
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"debounceMs": 4000})
    )
    start = len(client.published)  # type: ignore[attr-defined]
    at = pos(BROKEN, "four")
    loop = asyncio.get_running_loop()
    changed_at = loop.time()
    change(client, doc_uri, 2, (at.line, at.character), (at.line, at.character + 4), "4")
    # ...while a pull answers at once, for the current text...
    report = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=doc_uri))
    )
    assert list(report.items) == []
    assert [p for p in client.published[start:] if p.uri == doc_uri] == []  # type: ignore[attr-defined]
    # ...and the push comes once the 4 s are over (a lower bound: a slow machine only delays it).
    assert codes(await wait_for_publish(client, doc_uri, 2, since=start, timeout=60)) == []
    assert loop.time() - changed_at >= 3.9
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"debounceMs": 100})
    )


async def test_edit_in_one_file_rechecks_its_dependants(client: LanguageClient, ws):
    app_uri = open_doc(client, ws["app"])
    assert codes(await wait_for_publish(client, app_uri, 1)) == []
    shared_uri = open_doc(client, ws["shared"])
    await wait_for_publish(client, shared_uri, 1)
    start = len(client.published)  # type: ignore[attr-defined]
    # Rename the template in the (open, unsaved) shared file: app's reference breaks.
    renamed = SHARED.replace("xgboost_resources", "xgb_resources")
    replace_all(client, shared_uri, 2, renamed)
    published = await wait_for_publish(client, app_uri, 1, since=start)
    assert codes(published) == ["AME204"]
    assert (
        published.diagnostics[0].range.start.line
        == pos(APP, "shared_templates.xgboost_resources").line
    )
    # Closing the shared file: the file on disk (unchanged) is the truth again.
    start = len(client.published)  # type: ignore[attr-defined]
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=shared_uri))
    )
    assert codes(await wait_for_publish(client, app_uri, 1, since=start)) == []


async def test_watched_file_changes_recheck_dependants(client: LanguageClient, ws):
    app_uri = uri(ws["app"])  # open since the previous test
    start = len(client.published)  # type: ignore[attr-defined]
    ws["shared"].write_text(SHARED.replace("  - name: prepare", "  - name: prepare_data"))
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=uri(ws["shared"]), type=types.FileChangeType.Changed)]
        )
    )
    published = await wait_for_publish(client, app_uri, since=start)
    assert codes(published) == ["AME203"]
    # A new project file appears: a reference to it resolves once the server hears of it.
    start = len(client.published)  # type: ignore[attr-defined]
    ws["shared"].unlink()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=uri(ws["shared"]), type=types.FileChangeType.Deleted)]
        )
    )
    published = await wait_for_publish(client, app_uri, since=start)
    assert set(codes(published)) == {"AME206"}
    start = len(client.published)  # type: ignore[attr-defined]
    ws["shared"].write_text(SHARED)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=uri(ws["shared"]), type=types.FileChangeType.Created)]
        )
    )
    assert codes(await wait_for_publish(client, app_uri, since=start)) == []


async def test_yaml_files_that_are_not_project_files_are_ignored(client: LanguageClient, ws):
    other = ws["app"].parent / "values.yaml"
    other.write_text("a: [1\n")
    doc_uri = open_doc(client, other, language="yaml")
    # An ame.yml in the same session still gets diagnostics; values.yaml never does.
    probe = open_doc(client, _new_file(ws, "probe", BROKEN))
    await wait_for_publish(client, probe, 1)
    assert all(p.uri != doc_uri for p in client.published)  # type: ignore[attr-defined]


async def test_language_id_ame_is_accepted_for_any_file_name(client: LanguageClient, ws):
    path = ws["app"].parent / "pipeline-config.yml"
    path.write_text(BROKEN)
    doc_uri = open_doc(client, path, language="ame")
    assert codes(await wait_for_publish(client, doc_uri, 1)) == ["AME301"]


async def test_file_watchers_registered(client: LanguageClient):
    methods = [r.method for r in client.registrations]  # type: ignore[attr-defined]
    assert types.WORKSPACE_DID_CHANGE_WATCHED_FILES in methods
