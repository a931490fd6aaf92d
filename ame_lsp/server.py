"""The AME language server: pygls wiring, documents, the workspace and the feature modules.

`ame-lsp` speaks LSP over stdio; `ame-lsp --tcp --host 127.0.0.1 --port 2087` for debugging.
Each feature lives in its own module with a `register(server)` function; every handler runs
inside `safety.safe`, so a bug in one feature is logged and answered with an empty result.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from ame_core.engine import Analysis
from ame_lsp import __version__
from ame_lsp.code_lens import lenses_wanted
from ame_lsp.diagnostics import DiagnosticsManager, client_pulls
from ame_lsp.positions import Positions
from ame_lsp.protocol import AmeProtocol
from ame_lsp.safety import safe
from ame_lsp.workspace_index import (
    OpenDoc,
    WorkspaceIndex,
    path_to_uri,
    project_line_name,
    uri_to_path,
)

log = logging.getLogger("ame_lsp")


class AmeLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "ame-lsp",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=AmeProtocol,
        )
        self.index = WorkspaceIndex()
        self.positions = Positions()
        self.diagnostics = DiagnosticsManager(self)
        self.snippets = True
        self._accepted: set[str] = set()
        # Full analyses run here, one at a time, so the event loop keeps answering (and
        # re-checking edited items) while a big file is analysed.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ame-analysis")
        self._running: dict[str, tuple[str, asyncio.Future[Analysis]]] = {}

    # --- documents --------------------------------------------------------------------------

    def path_of(self, uri: str) -> str:
        return uri_to_path(uri)

    def uri_of(self, path: str) -> str:
        doc = self.index.open.get(path)
        return doc.uri if doc is not None else path_to_uri(path)

    def document(self, uri: str) -> OpenDoc | None:
        if uri not in self._accepted:
            return None
        return self.index.open.get(self.path_of(uri))

    def known(self, uri: str) -> bool:
        return self.index.text(self.path_of(uri)) is not None

    def accepts(self, uri: str, language_id: str | None) -> bool:
        name = os.path.basename(self.path_of(uri))
        return name in ("ame.yml", "ame.yaml") or language_id == "ame"

    def text(self, uri: str) -> str | None:
        if uri not in self._accepted and not self.known(uri):
            return None
        return self.index.text(self.path_of(uri))

    def lines(self, uri: str) -> list[str]:
        text = self.text(uri)
        return text.split("\n") if text is not None else []

    def analysis(self, uri: str) -> Analysis | None:
        if uri not in self._accepted and not self.known(uri):
            return None
        return self.index.analysis(self.path_of(uri))

    async def analysis_async(self, uri: str) -> Analysis | None:
        """The full analysis of the document's current text, computed off the event loop."""
        if uri not in self._accepted and not self.known(uri):
            return None
        return await self.analysis_of_path(self.path_of(uri))

    async def analysis_of_path(self, path: str) -> Analysis | None:
        text = self.index.text(path)
        if text is None:
            return None
        cached = self.index.cached_analysis(path)
        if cached is not None and (cached.text is text or cached.text == text):
            return cached
        running = self._running.get(path)
        if running is None or running[0] is not text:
            future = asyncio.get_running_loop().run_in_executor(
                self._pool, self.index.analysis_of_text, path, text
            )
            running = (text, future)
            self._running[path] = running
        try:
            return await asyncio.shield(running[1])
        finally:
            if self._running.get(path) is running and running[1].done():
                del self._running[path]

    async def current_analysis(self, uri: str) -> Analysis | None:
        """Await the analysis of the current text (edits may land while it runs), so the
        synchronous feature code after it finds it in the cache."""
        analysis = None
        for _ in range(5):
            analysis = await self.analysis_async(uri)
            if analysis is None or analysis.text == self.text(uri):
                break
        return analysis

    async def in_worker(self, fn: Any, *args: Any) -> Any:
        """Run a whole-file computation (tokens, outline, folding) in the analysis thread, so
        the event loop stays free for edits and their diagnostics."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def warm_workspace(self) -> None:
        """Analyses of every workspace file (for references, rename, workspace symbols)."""
        for path in self.index.paths():
            await self.analysis_of_path(path)

    def stale_analysis(self, uri: str) -> Analysis | None:
        """The latest analysis there is, possibly of an older version (for completion)."""
        return self.index.cached_analysis(self.path_of(uri))

    # --- keeping documents and dependants current ----------------------------------------

    def _project_names_in(self, path: str, *texts: str | None) -> set[str]:
        return {name for text in texts if text and (name := project_line_name(text))}

    def recheck_dependants(self, path: str, old_text: str | None, new_text: str | None) -> None:
        if old_text == new_text:
            return
        names = self._project_names_in(path, old_text, new_text)
        dependants = self.index.dependants(path, names)
        self.index.invalidate(dependants)
        for other in dependants:
            self.diagnostics.context_changed(self.index.open[other].uri)

    def did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        if not self.accepts(doc.uri, doc.language_id):
            return
        self._accepted.add(doc.uri)
        path = self.path_of(doc.uri)
        old = self.index.text(path)
        self.index.open_doc(path, doc.uri, doc.version, doc.text)
        self.diagnostics.schedule(doc.uri, immediate=True)
        self.recheck_dependants(path, old, doc.text)

    def did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri not in self._accepted:
            return
        path = self.path_of(uri)
        old = self.index.text(path)
        new = self.workspace.get_text_document(uri).source
        self.index.open_doc(path, uri, params.text_document.version, new)
        self.diagnostics.schedule(uri)
        self.recheck_dependants(path, old, new)

    def did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri not in self._accepted:
            return
        self._accepted.discard(uri)
        path = self.path_of(uri)
        old = self.index.text(path)
        self.index.close_doc(path)
        self.diagnostics.clear(uri)
        self.recheck_dependants(path, old, self.index.text(path))

    def did_change_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            path = self.path_of(change.uri)
            if not self.index.is_project_file(path):
                continue
            old = self.index.text(path)
            if change.type == types.FileChangeType.Deleted:
                self.index.forget_disk(path)
                if path not in self.index.open and change.uri in self.diagnostics.published:
                    self.diagnostics.clear(change.uri)
            else:
                self.index.read_disk(path)
            if path not in self.index.open:
                self.recheck_dependants(path, old, self.index.text(path))
            if change.type != types.FileChangeType.Changed:
                # ame.yml beside ame.yaml (AME402) came or went.
                sibling = os.path.join(
                    os.path.dirname(path),
                    "ame.yaml" if path.endswith("ame.yml") else "ame.yml",
                )
                if sibling in self.index.open:
                    self.diagnostics.context_changed(self.index.open[sibling].uri)

    def set_workspace_folders(self, roots: list[Path]) -> None:
        """New workspace folders: files below removed ones go, files below added ones come, and
        every open file is checked again in the new workspace."""
        self.index.set_roots(roots)
        self.index.rescan()
        self.index.invalidate(list(self.index.open))
        for doc in list(self.index.open.values()):
            self.diagnostics.context_changed(doc.uri)

    def configure(self, settings: Any) -> None:
        """`{"debounceMs": N}`, also accepted nested under `ame` (and `ame.diagnostics`)."""
        if not isinstance(settings, dict):
            return
        for candidate in (
            settings,
            settings.get("ame"),
            (settings.get("ame") or {}).get("diagnostics")
            if isinstance(settings.get("ame"), dict)
            else None,
        ):
            if isinstance(candidate, dict) and "debounceMs" in candidate:
                self.diagnostics.set_debounce(candidate["debounceMs"])

    def workspace_roots(self, params: types.InitializeParams) -> list[Path]:
        roots: list[Path] = []
        for folder in params.workspace_folders or []:
            roots.append(Path(uri_to_path(folder.uri)))
        if not roots and params.root_uri:
            roots.append(Path(uri_to_path(params.root_uri)))
        elif not roots and params.root_path:
            roots.append(Path(params.root_path))
        return roots


def create_server() -> AmeLanguageServer:
    server = AmeLanguageServer()

    @server.feature(types.INITIALIZE)
    @safe(server, "initialize")
    def initialize(ls: AmeLanguageServer, params: types.InitializeParams) -> None:
        ls.positions = Positions(ls.workspace.position_encoding or types.PositionEncodingKind.Utf16)
        ls.configure(params.initialization_options)
        ls.index.set_roots(ls.workspace_roots(params))
        ls.index.set_policies(params.initialization_options)
        completion = (
            params.capabilities.text_document and params.capabilities.text_document.completion
        )
        item = completion.completion_item if completion else None
        ls.snippets = bool(item and item.snippet_support)
        ls.diagnostics.push = not client_pulls(params.capabilities)
        ls.run_lenses.enabled = lenses_wanted(params)  # type: ignore[attr-defined]

    @server.feature(types.INITIALIZED)
    @safe(server, "initialized")
    async def initialized(ls: AmeLanguageServer, params: types.InitializedParams) -> None:
        ls.index.scan()
        watched = (
            ls.client_capabilities.workspace
            and ls.client_capabilities.workspace.did_change_watched_files
        )
        if watched and watched.dynamic_registration:
            try:
                await ls.client_register_capability_async(
                    types.RegistrationParams(
                        registrations=[
                            types.Registration(
                                id="ame-project-files",
                                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                register_options=types.DidChangeWatchedFilesRegistrationOptions(
                                    watchers=[
                                        types.FileSystemWatcher(glob_pattern="**/ame.{yml,yaml}")
                                    ]
                                ),
                            )
                        ]
                    )
                )
            except Exception as exc:  # noqa: BLE001 - a client that claims the capability but lacks it
                log.warning("could not register file watchers: %s", exc)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @safe(server, "didOpen")
    def did_open(ls: AmeLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.did_open(params)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @safe(server, "didChange")
    def did_change(ls: AmeLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.did_change(params)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @safe(server, "didClose")
    def did_close(ls: AmeLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.did_close(params)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    @safe(server, "didSave")
    def did_save(ls: AmeLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        if ls.index.is_project_file(path):
            ls.index.read_disk(path)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @safe(server, "didChangeWatchedFiles")
    def watched(ls: AmeLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.did_change_watched_files(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @safe(server, "didChangeConfiguration")
    def configuration(ls: AmeLanguageServer, params: types.DidChangeConfigurationParams) -> None:
        ls.configure(params.settings)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    @safe(server, "didChangeWorkspaceFolders")
    def folders(ls: AmeLanguageServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        # Compared as paths: clients spell the same folder's URI differently (a trailing `/`,
        # percent-escapes).
        removed = {Path(uri_to_path(f.uri.rstrip("/"))) for f in params.event.removed}
        roots = [r for r in ls.index.roots if Path(r) not in removed]
        roots += [Path(uri_to_path(f.uri.rstrip("/"))) for f in params.event.added]
        ls.set_workspace_folders(roots)

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier="ame", inter_file_dependencies=True, workspace_diagnostics=False
        ),
    )
    @safe(
        server,
        "textDocument/diagnostic",
        lambda: types.RelatedFullDocumentDiagnosticReport(items=[]),
    )
    async def pull(ls: AmeLanguageServer, params: types.DocumentDiagnosticParams) -> Any:
        return await ls.diagnostics.pull(params)

    from ame_lsp import (
        code_actions,
        code_lens,
        completion,
        folding,
        hover,
        inlay_hints,
        navigation,
        semantic_tokens,
        symbols,
    )

    for module in (
        completion,
        hover,
        navigation,
        symbols,
        code_actions,
        inlay_hints,
        semantic_tokens,
        folding,
        code_lens,
    ):
        module.register(server)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ame-lsp", description="Language server for AME project files (ame.yml)."
    )
    parser.add_argument("--stdio", action="store_true", help="speak LSP over stdio (default)")
    parser.add_argument("--tcp", action="store_true", help="listen on TCP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="TCP host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=2087, help="TCP port (default 2087)")
    parser.add_argument("--log-file", help="write the server's log here")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"ame-lsp {__version__}")
    args = parser.parse_args(argv)
    handler: logging.Handler = (
        logging.FileHandler(args.log_file) if args.log_file else logging.StreamHandler(sys.stderr)
    )
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        handlers=[handler],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    server = create_server()
    # The modules imported so far live as long as the process: keep the cyclic garbage collector
    # from walking them on every full collection (which would stall edits on big files).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    # A full analysis in the worker thread holds the GIL for 5 ms at a time by default; the
    # event loop's re-check of an edit (a few ms of work) then waits in line. Measured with
    # benchmarks/bench_lsp.py: p50 of an edit while tokens and symbols are asked 35 → 26 ms.
    sys.setswitchinterval(0.001)
    if args.tcp:
        server.start_tcp(args.host, args.port)
    else:
        server.start_io()
    return server.protocol.exit_code  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
