"""Diagnostics: pushed per URI after a debounce, or pulled (`textDocument/diagnostic`), never
both (a client that gets both shows every diagnostic twice, as Neovim 0.11 did).

Pull is used when the client can pull and can be told to pull again
(`workspace/diagnostic/refresh`), which a change in another file needs; else the server pushes
and does not offer pull. A push is published only for the version it was computed from, and only
if that is still the document's version; closing (or deleting) a file clears its diagnostics.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from ame_core.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from ame_lsp.language_server import AmeLanguageServer

DEFAULT_DEBOUNCE_MS = 150
_TAGS = {
    "deprecated": types.DiagnosticTag.Deprecated,
    "unnecessary": types.DiagnosticTag.Unnecessary,
}
_DOCS = "https://github.com/ame/ame-console/blob/main/docs/format.md"


def client_pulls(capabilities: types.ClientCapabilities) -> bool:
    text = capabilities.text_document
    workspace = capabilities.workspace
    refresh = workspace.diagnostics if workspace is not None else None
    return bool(
        text is not None
        and text.diagnostic is not None
        and refresh is not None
        and refresh.refresh_support
    )


def _related(
    server: AmeLanguageServer, uri: str, lines: list[str], diagnostic: Diagnostic
) -> list[types.DiagnosticRelatedInformation] | None:
    out = []
    for related in diagnostic.related:
        # Another file's range is in its own lines (read only then: related is rare).
        target = server.uri_of(related.path) if related.path else uri
        target_lines = lines if not related.path else server.lines(target)
        out.append(
            types.DiagnosticRelatedInformation(
                location=types.Location(
                    uri=target, range=server.positions.range(target_lines, related.range)
                ),
                message=related.message,
            )
        )
    return out or None


def to_lsp(
    server: AmeLanguageServer, lines: list[str], diagnostic: Diagnostic, uri: str = ""
) -> types.Diagnostic:
    return types.Diagnostic(
        range=server.positions.range(lines, diagnostic.range),
        message=diagnostic.message,
        severity=types.DiagnosticSeverity(int(diagnostic.severity)),
        code=diagnostic.code,
        source="ame",
        tags=[_TAGS[t] for t in diagnostic.tags if t in _TAGS] or None,
        data={"fixes": len(diagnostic.fixes)},
        related_information=_related(server, uri, lines, diagnostic) if uri else None,
    )


class DiagnosticsManager:
    def __init__(self, server: AmeLanguageServer) -> None:
        self.server = server
        self.debounce_ms = DEFAULT_DEBOUNCE_MS
        self._pending: dict[str, asyncio.Task[None]] = {}
        self.published: dict[str, int | None] = {}
        self.previous: dict[str, object] = {}  # uri → incremental.Previous
        self.last_path = ""
        self.push = True  # else the client pulls (see client_pulls)
        self._refresh: asyncio.Task[None] | None = None

    def set_debounce(self, value: object) -> None:
        try:
            ms = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        self.debounce_ms = max(0, min(ms, 10_000))

    def schedule(self, uri: str, *, immediate: bool = False) -> None:
        """(Re)start the debounce timer of a document; the last edit wins. A pulling client
        asks by itself after its own edits."""
        if not self.push:
            return
        old = self._pending.pop(uri, None)
        if old is not None:
            old.cancel()
        delay = 0.0 if immediate else self.debounce_ms / 1000
        task = asyncio.get_running_loop().create_task(self._after(uri, delay))
        self._pending[uri] = task

    async def _after(self, uri: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            return
        if self._pending.get(uri) is asyncio.current_task():
            del self._pending[uri]
        await self.publish_now(uri)

    async def publish_now(self, uri: str) -> None:
        try:
            state = self.server.document(uri)
            if state is None:
                return
            version, text = state.version, state.text
            items = await self.compute(uri, text)
            current = self.server.document(uri)
            if (
                items is None
                or current is None
                or current.version != version
                or current.text != text
            ):
                return  # a newer edit is on its way: never publish for a stale version
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=version)
            )
            self.published[uri] = version
        except Exception as exc:  # noqa: BLE001 - reported: one document must not stop the others
            from ame_lsp.safety import report_failure

            report_failure(self.server, "diagnostics", exc)

    async def compute(self, uri: str, text: str | None = None) -> list[types.Diagnostic] | None:
        """Diagnostics of `text` (the current text by default); None if it changed meanwhile."""
        text = self.server.text(uri) if text is None else text
        if text is None:
            return []
        found = await self.engine_diagnostics(uri, text)
        if found is None:
            return None
        if uri.startswith("file:"):
            from ame_core.place_checks import place_diagnostics

            found = [*place_diagnostics(Path(self.server.path_of(uri))), *found]
        lines = text.split("\n")
        return [to_lsp(self.server, lines, d, uri) for d in found]

    async def engine_diagnostics(self, uri: str, text: str) -> list[Diagnostic] | None:
        """The engine's diagnostics for `text`: from the full analysis when there is one, else
        by re-checking only the edited item (`incremental`), else a full analysis (off the
        event loop, so other requests and edits keep being answered meanwhile)."""
        from ame_lsp import incremental

        path = self.server.path_of(uri)
        analysis = self.server.index.cached_analysis(path)
        previous = self.previous.get(uri)
        if previous is not None and previous.text == text:
            return previous.diagnostics  # the same as the full analysis's (tested)
        if analysis is not None and analysis.text == text:
            result = analysis.diagnostics
        else:
            workspace = self.server.index.workspace_for(path)
            quick = incremental.recheck(previous, text, path, workspace)  # type: ignore[arg-type]
            if quick is not None:
                self.last_path = incremental.LAST_REASON[0]
                self.server.index.add_lookups(path, workspace.looked_up)
                self.previous[uri] = quick[1]
                return quick[0]
            self.last_path = "full"
            analysis = await self.server.analysis_of_path(path)
            if analysis is None:
                return []
            if analysis.text != text:
                return None
            result = analysis.diagnostics
        state = incremental.previous_state(analysis)
        if state is not None:
            self.previous[uri] = state
        # Else the last state the fast path can start from stays: it describes an older text
        # completely, and the next edits are compared with that text (typing through a syntax
        # error, or a duplicate name, then fixing it, is re-checked item by item again).
        return result

    def forget(self, uri: str) -> None:
        """The file's context changed (another project it uses): no incremental re-check."""
        self.previous.pop(uri, None)

    def context_changed(self, uri: str) -> None:
        """Another file (or the workspace folders) changed what this open file's checks see."""
        self.forget(uri)
        if self.push:
            self.schedule(uri)
        elif self._refresh is None or self._refresh.done():
            # One refresh for a burst of changes: the client then pulls every open file.
            self._refresh = asyncio.get_running_loop().create_task(self._ask_to_pull())

    async def _ask_to_pull(self) -> None:
        await asyncio.sleep(self.debounce_ms / 1000)
        try:
            await self.server.workspace_diagnostic_refresh_async(None)
        except Exception as exc:  # noqa: BLE001 - the client said it can; if it cannot, nothing breaks
            from ame_lsp.safety import log

            log.warning("workspace/diagnostic/refresh failed: %s", exc)

    def clear(self, uri: str) -> None:
        old = self._pending.pop(uri, None)
        if old is not None:
            old.cancel()
        self.published.pop(uri, None)
        self.previous.pop(uri, None)
        if not self.push:
            return  # a pulling client drops a closed file's diagnostics itself
        self.server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    async def pull(self, params: types.DocumentDiagnosticParams) -> types.DocumentDiagnosticReport:
        uri = params.text_document.uri
        items: list[types.Diagnostic] | None = []
        if self.server.document(uri) or self.server.known(uri):
            items = await self.compute(uri)
            if items is None:  # edited while we looked: answer for the newest text
                items = await self.compute(uri) or []
        digest = hashlib.sha1(
            repr([(d.range, d.message, d.code) for d in items]).encode()
        ).hexdigest()[:16]
        if params.previous_result_id == digest:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=digest)
        return types.RelatedFullDocumentDiagnosticReport(items=items, result_id=digest)


def severity_name(severity: Severity) -> str:
    return severity.label
