"""Runs: every run of the project, newest first, live. `/` filters, `c` cancels, `enter` opens,
`space` selects runs and `=` compares the selected (two or more)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from ame_tui.screens.base import (
    View,
    age,
    duration,
    now,
    resources_text,
    run_duration,
    styled_status,
)
from ame_tui.widgets.filter_input import FilterInput
from ame_tui.widgets.table import selected_key, sync_rows


def run_cells(record: Any, clock: float) -> tuple[Any, ...]:
    model = (
        f"{record.model_name} v{record.model_version}"
        if record.model_version
        else (record.model_name or "")
    )
    status = styled_status(record.status.value)
    if record.reason and record.status.value in ("failed", "queued"):
        status.append(f" ({record.reason})", style="grey50")
    return (
        record.id,
        Text(record.task, "bold"),
        record.kind,
        status,
        age(clock - record.created_at),
        duration(run_duration(record, clock)),
        record.backend,
        resources_text(record.resources),
        model,
    )


class RunsView(View):
    VIEW_TITLE = "Runs"
    WANTS_RUNS = True
    BINDINGS: ClassVar[list[Any]] = [
        Binding("enter", "open", "Detail", id="open"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("c", "cancel", "Cancel run", id="cancel"),
        Binding("space", "select", "Select", id="select_run"),
        Binding("equals_sign", "compare", "Compare", id="compare"),
    ]

    def compose_body(self) -> ComposeResult:
        yield from self.compose_summary_table(
            "runs",
            ("RUN", "TASK", "KIND", "STATUS", "AGE", "DURATION", "BACKEND", "RESOURCES", "MODEL"),
        )
        yield FilterInput(placeholder="filter runs (task, status, kind, model …)", id="runs-filter")

    def on_mount(self) -> None:
        self.selected: list[str] = []  # runs to compare, in the order chosen
        self.watch(self.app, "runs", lambda _: self._show(), init=False)
        self.set_interval(1.0, self._tick)
        self._show()

    def _tick(self) -> None:
        # durations of running runs move every second; nothing else is redrawn
        if self.is_current and any(not r.status.finished for r in self.ame.runs):
            self._show()

    def _show(self) -> None:
        term = self.query_one(FilterInput).value.strip().lower()
        clock = now(self.app)
        rows = []
        for record in self.ame.runs:
            cells = run_cells(record, clock)
            if term and term not in " ".join(str(c) for c in cells).lower():
                continue
            if record.id in getattr(self, "selected", ()):
                cells = (Text(f"✓ {record.id}", "bold yellow"), *cells[1:])
            rows.append((record.id, cells))
        sync_rows(self.query_one(DataTable), rows)
        active = sum(1 for r in self.ame.runs if not r.status.finished)
        text = Text(f" {len(self.ame.runs)} runs, {active} active")
        if term:
            text.append(f" │ filter '{term}': {len(rows)} shown", style="yellow")
        chosen = getattr(self, "selected", [])
        if chosen:
            hint = "= compares them" if len(chosen) > 1 else "select another to compare"
            text.append(f" │ {len(chosen)} selected: {hint}", style="yellow")
        state = self.ame.backend_state
        if state:
            text.append(f" │ backend: {state}", style="red")
        self.query_one("#runs-summary", Static).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show()

    def action_filter(self) -> None:
        self.query_one(FilterInput).open()

    def action_open(self) -> None:
        run_id = selected_key(self.query_one(DataTable))
        if run_id:
            self.ame.open_run(run_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_cancel(self) -> None:
        run_id = selected_key(self.query_one(DataTable))
        record = next((r for r in self.ame.runs if r.id == run_id), None)
        if record is None:
            return
        if record.status.finished:
            self.notify(f"run {run_id} already {record.status.value}", severity="warning")
            return
        self.ame.confirm_cancel(record.id, record.task)

    def action_select(self) -> None:
        run_id = selected_key(self.query_one(DataTable))
        if not run_id:
            return
        if run_id in self.selected:
            self.selected.remove(run_id)
        else:
            self.selected.append(run_id)
        self._show()

    def action_compare(self) -> None:
        chosen = [r for r in self.selected if any(x.id == r for x in self.ame.runs)]
        if len(chosen) < 2:
            self.notify("select two or more runs with space, then = compares them")
            return
        from ame_tui.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen(chosen))
