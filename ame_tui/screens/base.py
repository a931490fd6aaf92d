"""What every view has: the status bar on top, the keys at the bottom, the app's state."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ame_tui.widgets.status_bar import StatusBar


class View(Screen):
    VIEW_TITLE: ClassVar[str] = ""
    WANTS_RUNS: ClassVar[bool] = False  # the app polls the backend for runs while shown

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        return iter(())

    def compose_summary_table(self, name: str, columns: tuple[str, ...]) -> ComposeResult:
        """What a list view starts with: a summary line (`#NAME-summary`) and its table
        (`#NAME-table`) with these columns."""
        yield Static("", id=f"{name}-summary", classes="summary")
        table: DataTable = DataTable(id=f"{name}-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*columns)
        yield table

    def on_screen_resume(self) -> None:
        self.app.view_title = self.VIEW_TITLE  # type: ignore[attr-defined]
        if self.WANTS_RUNS:
            self.app.refresh_runs()  # type: ignore[attr-defined]
        self.refresh_data()
        if self.focused is None:  # the view's table takes the keys
            tables = self.query(DataTable)
            if tables:
                tables.first().focus()

    def refresh_data(self) -> None:
        """Fetch what the view shows now (views that poll override this)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.app.allowed(action)  # type: ignore[attr-defined]

    @property
    def ame(self) -> Any:
        return self.app


class PolledView(View):
    """A view that asks the backend or MLflow again every POLL_SECONDS while it is shown, one
    fetch at a time (polling is budgeted: nothing is asked for views that are not on screen)."""

    POLL_SECONDS: ClassVar[float] = 2.0
    TICK_SECONDS: ClassVar[float] = 0.5

    def start_polling(self) -> None:
        self._busy = False
        self._last = 0.0
        self.set_interval(self.TICK_SECONDS, self._tick)

    def _tick(self) -> None:
        if self.is_current and time.monotonic() - self._last >= self.POLL_SECONDS:
            self.refresh_data()

    def refresh_data(self) -> None:
        info = self.ame.project
        if info is None or self._busy:
            return
        self._busy = True
        self._last = time.monotonic()
        self.fetch(info)

    def fetch(self, info: Any) -> None:
        """Start the worker that fetches; it sets `self._busy = False` when it is done."""
        raise NotImplementedError


def age(seconds_ago: float) -> str:
    """k9s-style age: 42s, 7m, 3h, 5d."""
    s = max(0, int(seconds_ago))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def run_duration(record: Any, now: float) -> float | None:
    if record.started_at is None:
        return None
    return (record.ended_at or now) - record.started_at


STATUS_STYLE = {
    "queued": "grey50",
    "running": "bold cyan",
    "succeeded": "green",
    "failed": "bold red",
    "cancelled": "yellow",
    "ready": "green",
    "starting": "cyan",
    "stopped": "grey50",
}


def styled_status(value: str):
    from rich.text import Text

    return Text(value, style=STATUS_STYLE.get(value, ""))


def resources_text(resources: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in resources.items())


def now(app: Any) -> float:
    clock = getattr(getattr(app, "ctx", None), "clock", None)
    return clock() if clock else time.time()
