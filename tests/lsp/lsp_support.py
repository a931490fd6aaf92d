"""Shared pieces of the ame-lsp end-to-end tests: the real server process, a client that keeps
every published diagnostic, and a two-project workspace on disk."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

_SCRIPT = Path(sys.executable).with_name("ame-lsp")
SERVER_COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "ame_lsp.server"]
if not _SCRIPT.exists() and shutil.which("ame-lsp"):
    SERVER_COMMAND = [shutil.which("ame-lsp") or "ame-lsp"]

SHARED = """\
project: shared_templates

templates:
  - name: xgboost_resources
    resources:
      cpu: 4
      memory: 16Gi

tasks:
  - name: prepare
    executor: !pip
      pythonVersion: "3.11"
      command: python prepare.py
"""

APP = """\
project: app

templates:
  - name: small
    resources:
      cpu: 1
      memory: 1Gi

dataSets:
  - name: raw
    path: data/raw.csv
    task:
      taskRef: fetch
    size: 10G

tasks:
  - name: fetch
    fromTemplate: small
    executor: !pip
      pythonVersion: "3.11"
      command: python fetch.py
    triggers:
      schedule: "0 2 * * *"

  - name: train
    fromTemplate: shared_templates.xgboost_resources
    executor:
      poetry:
        pythonVersion: "3.11"
        command: python train.py
    dataSets:
      - raw

  - name: flow
    pipeline:
      - taskRef: fetch
      - - taskRef: train
        - taskRef: shared_templates.prepare

models:
  - name: churn
    training:
      task:
        taskRef: train
"""


def uri(path: Path) -> str:
    return from_fs_path(str(path)) or str(path)


def make_client() -> LanguageClient:
    """pytest-lsp's client, keeping every publishDiagnostics (with its version) in order."""
    client = LanguageClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)

    def record(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        client.diagnostics[params.uri] = params.diagnostics
        client.published.append(params)  # type: ignore[attr-defined]

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record

    def register_capability(client: LanguageClient, params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    features[types.CLIENT_REGISTER_CAPABILITY] = register_capability

    def refresh(client: LanguageClient, params: None) -> None:
        client.refreshes += 1  # type: ignore[attr-defined]

    features[types.WORKSPACE_DIAGNOSTIC_REFRESH] = refresh

    def lens_refresh(client: LanguageClient, params: None) -> None:
        client.lens_refreshes += 1  # type: ignore[attr-defined]

    features[types.WORKSPACE_CODE_LENS_REFRESH] = lens_refresh

    def show_document(
        client: LanguageClient, params: types.ShowDocumentParams
    ) -> types.ShowDocumentResult:
        client.shown.append(params)  # type: ignore[attr-defined]
        return types.ShowDocumentResult(success=True)

    features[types.WINDOW_SHOW_DOCUMENT] = show_document
    register_lsp_features(client, features)
    client.published = []  # type: ignore[attr-defined]
    client.registrations = []  # type: ignore[attr-defined]
    client.refreshes = 0  # type: ignore[attr-defined]
    client.lens_refreshes = 0  # type: ignore[attr-defined]
    client.shown = []  # type: ignore[attr-defined]
    return client


def make_workspace(root: Path) -> dict[str, Path]:
    (root / "shared").mkdir(parents=True, exist_ok=True)
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "shared" / "ame.yml").write_text(SHARED)
    (root / "app" / "ame.yml").write_text(APP)
    # The files the tasks run (a missing one is a warning: AME403, AME404).
    for folder, names in (
        ("shared", ("requirements.txt", "prepare.py")),
        ("app", ("requirements.txt", "fetch.py", "train.py")),
    ):
        for name in names:
            (root / folder / name).touch()
    return {"shared": root / "shared" / "ame.yml", "app": root / "app" / "ame.yml"}


def init_params(
    root: Path,
    *,
    encodings: list[str] | None = None,
    options: Any = None,
    editor: str = "visual-studio-code",
) -> types.InitializeParams:
    caps = client_capabilities(editor)
    if encodings is not None:
        caps.general = types.GeneralClientCapabilities(position_encodings=encodings)
    return types.InitializeParams(
        capabilities=caps,
        workspace_folders=[types.WorkspaceFolder(uri=uri(root), name=root.name)],
        root_uri=uri(root),
        initialization_options=options,
    )


def open_doc(
    client: LanguageClient,
    path: Path,
    text: str | None = None,
    version: int = 1,
    language: str = "ame",
) -> str:
    doc_uri = uri(path)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=doc_uri,
                language_id=language,
                version=version,
                text=path.read_text() if text is None else text,
            )
        )
    )
    return doc_uri


def change(
    client: LanguageClient,
    doc_uri: str,
    version: int,
    start: tuple[int, int],
    end: tuple[int, int],
    text: str,
) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=doc_uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=start[0], character=start[1]),
                        end=types.Position(line=end[0], character=end[1]),
                    ),
                    text=text,
                )
            ],
        )
    )


def replace_all(client: LanguageClient, doc_uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=doc_uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def wait_for_publish(
    client: LanguageClient,
    doc_uri: str,
    version: int | None = None,
    *,
    since: int = 0,
    timeout: float = 30,
) -> types.PublishDiagnosticsParams:
    """The first diagnostics published for `doc_uri` (at `version`) after index `since`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for params in client.published[since:]:  # type: ignore[attr-defined]
            if params.uri == doc_uri and (version is None or params.version == version):
                return params
        if loop.time() > deadline:
            seen = [(p.uri, p.version, len(p.diagnostics)) for p in client.published]  # type: ignore[attr-defined]
            raise AssertionError(
                f"no diagnostics for {doc_uri} v{version} within {timeout}s; got {seen}"
            )
        await asyncio.sleep(0.02)


def codes(params: types.PublishDiagnosticsParams) -> list[str]:
    return [str(d.code) for d in params.diagnostics]


def pos(text: str, needle: str, offset: int = 0, occurrence: int = 0) -> types.Position:
    """The position of `needle` (+offset) in text."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index)
    col = index - (text.rfind("\n", 0, index) + 1)
    return types.Position(line=line, character=col)


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP text edits (ASCII text: code points = UTF-16 units), last first."""
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def offset(p: types.Position) -> int:
        return (
            min(starts[min(p.line, len(lines) - 1)] + p.character, len(text))
            if p.line < len(lines)
            else len(text)
        )

    for edit in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def workspace_session(
    prefix: str,
    *,
    debounce_ms: int,
    encodings: list[str] | None = None,
    open_app: bool = False,
) -> tuple[Any, Any]:
    """The `ws` and `client` fixtures the end-to-end modules share: the two-project workspace
    (`make_workspace`) and one real server for the module, initialized on its root with
    `debounceMs`; with `open_app`, the app project is open (`client.app_uri`) and checked once.
    A module takes them as `ws, client = workspace_session(...)`."""

    @pytest.fixture(scope="module")
    def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
        return make_workspace(tmp_path_factory.mktemp(prefix))

    @pytest_lsp.fixture(
        config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client),
        scope="module",
    )
    async def client(lsp_client: LanguageClient, ws: dict[str, Path]) -> Any:
        root = ws["app"].parent.parent
        options = {"debounceMs": debounce_ms}
        await lsp_client.initialize_session(init_params(root, options=options, encodings=encodings))
        if open_app:
            lsp_client.app_uri = open_doc(lsp_client, ws["app"])  # type: ignore[attr-defined]
            await wait_for_publish(lsp_client, lsp_client.app_uri, 1)  # type: ignore[attr-defined]
        yield
        await lsp_client.shutdown_session()

    return ws, client
