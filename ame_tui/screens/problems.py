"""Problems: the diagnostics of ame.yml from the engine `ame lint` and ame-lsp use,
refreshed when the file changes on disk."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from ame_tui.screens.base import View
from ame_tui.widgets.table import sync_rows

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "hint": "grey50"}


class ProblemsView(View):
    VIEW_TITLE = "Problems"
    BINDINGS: ClassVar[list[Any]] = []

    def compose_body(self) -> ComposeResult:
        yield from self.compose_summary_table("problems", ("SEVERITY", "WHERE", "CODE", "MESSAGE"))

    def on_mount(self) -> None:
        self.watch(self.app, "project", lambda _: self._show(), init=False)
        self._show()

    def _show(self) -> None:
        info = self.ame.project
        summary = self.query_one("#problems-summary", Static)
        if info is None:
            summary.update(" reading ame.yml …")
            return
        name = info.path.name if info.path else "ame.yml"
        rows = [
            (
                f"{i}",
                (
                    Text(p.severity, SEVERITY_STYLE.get(p.severity, "")),
                    f"{name}:{p.line}:{p.col}",
                    p.code,
                    p.message,
                ),
            )
            for i, p in enumerate(info.problems)
        ]
        sync_rows(self.query_one(DataTable), rows)
        if info.read_error:
            summary.update(Text(f" {info.read_error}", style="red"))
            return
        counts: dict[str, int] = {}
        for p in info.problems:
            counts[p.severity] = counts.get(p.severity, 0) + 1
        if not counts:
            summary.update(Text(f" {name}: no problems", style="green"))
            return
        parts = [f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in counts.items()]
        summary.update(Text(f" {name}: " + ", ".join(parts) + " (updated when the file changes)"))
