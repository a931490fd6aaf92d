"""The server object: documents, analyses, the workspace and the parts every feature shares.

Feature modules take this class (never `ame_lsp.server`, which wires them together), and
register their handlers with `handler`: one decorator that names the LSP method once and runs
the handler inside `safety.safe`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from ame_core.engine import Analysis
from ame_lsp import __version__
from ame_lsp.code_lens import RunLenses
from ame_lsp.diagnostics import DiagnosticsManager
from ame_lsp.options import ServerOptions
from ame_lsp.positions import Positions
from ame_lsp.protocol import AmeProtocol
from ame_lsp.safety import safe
from ame_lsp.workspace_index import (
    OpenDoc,
    WorkspaceIndex,
    path_to_uri,
    uri_to_path,
)
from ame_lsp.yaml_text import project_line_name

F = TypeVar("F", bound=Callable[..., Any])


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
        self.run_lenses = RunLenses(self)
        self.snippets = True
        self._accepted: set[str] = set()
        # The names a text shows by kind (names.local_names), for the text they were read from.
        self.name_scan: tuple[str, dict[str, list[str]]] | None = None
        # Full analyses run here, one at a time, so the event loop keeps answering (and
        # re-checking edited items) while a big file is analysed.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ame-analysis")
        self._running: dict[str, tuple[str, asyncio.Future[Analysis]]] = {}

    # --- registering handlers ---------------------------------------------------------------

    def handler(
        self, method: str, options: Any = None, *, empty: Callable[[], Any] = lambda: None
    ) -> Callable[[F], F]:
        """Register a handler for an LSP method. It runs inside `safe`: a bug in it is reported
        and answered with `empty()`. Its name in reports and in AME_LSP_FAULT is the method
        without `textDocument/` (`hover`, `semanticTokens/full`, `workspace/symbol`)."""
        guarded = safe(self, method.removeprefix("textDocument/"), empty)
        register = self.feature(method) if options is None else self.feature(method, options)

        def decorate(fn: F) -> F:
            register(guarded(fn))
            return fn

        return decorate

    def command_handler(self, name: str) -> Callable[[F], F]:
        """Register a `workspace/executeCommand` command, run inside `safe` like `handler`."""

        def decorate(fn: F) -> F:
            self.command(name)(safe(self, name)(fn))
            return fn

        return decorate

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

    def recheck_dependants(self, path: str, old_text: str | None, new_text: str | None) -> None:
        """A file's text changed from `old_text` to `new_text` (open, close, on disk)."""
        if old_text == new_text:
            return
        self._recheck_users_of(path, {project_line_name(t) for t in (old_text, new_text) if t})

    def _recheck_users_of(self, path: str, projects: set[str | None]) -> None:
        """Check again the open files whose last check looked up one of `projects`."""
        dependants = self.index.dependants(path, {p for p in projects if p})
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
        self.index.open_doc(path, doc.uri, self.workspace.get_text_document(doc.uri))
        self.diagnostics.schedule(doc.uri, immediate=True)
        self.recheck_dependants(path, old, self.index.text(path))

    def did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri not in self._accepted:
            return
        path = self.path_of(uri)
        before, now = self.index.sync_doc(path)  # pygls has applied the edit to its document
        self.diagnostics.schedule(uri)
        self._recheck_users_of(path, {before, now})

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

    def configure(self, options: ServerOptions) -> None:
        if options.debounce_ms is not None:
            self.diagnostics.set_debounce(options.debounce_ms)

    def workspace_roots(self, params: types.InitializeParams) -> list[Path]:
        roots: list[Path] = []
        for folder in params.workspace_folders or []:
            roots.append(Path(uri_to_path(folder.uri)))
        if not roots and params.root_uri:
            roots.append(Path(uri_to_path(params.root_uri)))
        elif not roots and params.root_path:
            roots.append(Path(params.root_path))
        return roots
