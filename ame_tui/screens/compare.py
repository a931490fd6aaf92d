"""Compare runs (`=` in Runs, with two or more selected by space): params and metrics side by
side, only what differs unless `d`; each metric's last, min, max and its value at a chosen step
(`[` and `]`); the metric charts of every run drawn over each other. The data is
`ame_core.compare`'s, the same `ame runs compare` prints."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from ame_tui.screens.base import View
from ame_tui.widgets.overlay_chart import OverlayChart, colour
from ame_tui.widgets.table import sync_rows
from ame_tui.workers import background


class ComparisonRead(Message):
    def __init__(self, comparison: Any, skipped: list[str], error: str = "") -> None:
        super().__init__()
        self.comparison = comparison
        self.skipped = skipped  # runs with nothing in MLflow, and why
        self.error = error


class CompareScreen(View):
    VIEW_TITLE = "Compare"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("d", "differences", "All / differences", id="compare_differences"),
        Binding("left_square_bracket", "step(-1)", "Step -1", id="compare_step_down"),
        Binding("right_square_bracket", "step(1)", "Step +1", id="compare_step_up"),
        Binding("t", "tab('table')", "Side by side", id="compare_table"),
        Binding("g", "tab('charts')", "Charts", id="compare_charts"),
    ]

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__()
        self.run_ids = run_ids
        self.comparison: Any = None
        self.only_differences = True
        self.step: int | None = None  # None: each metric's last step
        self.skipped: list[str] = []
        self.error = ""

    def compose_body(self) -> ComposeResult:
        yield Static(f" reading {len(self.run_ids)} runs from MLflow …", id="compare-summary")
        with TabbedContent(id="compare-tabs", initial="table"):
            with TabPane("Side by side", id="table"), VerticalScroll():
                params: DataTable = DataTable(id="compare-params", cursor_type="row")
                yield params
                metrics: DataTable = DataTable(id="compare-metrics", cursor_type="row")
                yield metrics
            with TabPane("Charts", id="charts"), VerticalScroll():
                yield OverlayChart(id="compare-chart")

    def on_mount(self) -> None:
        self._read()

    @background(exclusive=True, group="compare")
    def _read(self) -> None:
        from ame_core import compare
        from ame_tui.services import mlflow_data

        ctx = self.ame.ctx
        sides, skipped = [], []
        try:
            api = mlflow_data.client(ctx.tracking_uri)
            backend = ctx.backend()
            for run_id in self.run_ids:
                record = backend.get_run(run_id)
                try:
                    mlflow_id = compare.mlflow_run_of(record, backend.get_run)
                    sides.append(compare.read_run(api, mlflow_id, record.id))
                except compare.CompareError as exc:
                    skipped.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - MLflow or the backend: one line on screen
            from ame_core.errors import one_line

            self.post_message(ComparisonRead(None, skipped, one_line(exc)))
            return
        if len(sides) < 2:
            why = "fewer than two of them have MLflow data to compare"
            self.post_message(ComparisonRead(None, skipped, why))
            return
        self.post_message(ComparisonRead(compare.build(sides), skipped))

    def on_comparison_read(self, message: ComparisonRead) -> None:
        self.comparison = message.comparison
        self.skipped = message.skipped
        self.error = message.error
        if self.comparison is not None:
            self.step = self.comparison.last_step
        self._show()

    # --- drawing --------------------------------------------------------------------------------

    def _show(self) -> None:
        summary = self.query_one("#compare-summary", Static)
        comparison = self.comparison
        if comparison is None:
            text = Text(f" cannot compare: {self.error}", style="red") if self.error else None
            for line in self.skipped:
                text = text or Text("")
                text.append(f"\n {line}", style="yellow")
            if text is not None:
                summary.update(text)
            return
        text = Text(" ")
        for index, side in enumerate(comparison.runs):
            text.append(f"{side.label}", style=f"bold {colour(index)}")
            text.append(f" ({side.name or side.mlflow_run_id[:8]})  ", style="grey50")
        mode = "only differences (d: all)" if self.only_differences else "all rows (d: differences)"
        text.append(f"\n {mode} │ at step {self.step} ([ ] to move)", style="grey50")
        for line in self.skipped:
            text.append(f"\n not compared: {line}", style="yellow")
        summary.update(text)
        labels = [side.label for side in comparison.runs]
        self._show_params(comparison, labels)
        self._show_metrics(comparison, labels)
        chart = self.query_one(OverlayChart)
        chart.labels = labels
        chart.charts = {
            m.key: [s.points if s else None for s in m.series]
            for m in comparison.shown(comparison.metrics, self.only_differences)
        }

    def _show_params(self, comparison: Any, labels: list[str]) -> None:
        table = self.query_one("#compare-params", DataTable)
        _columns(table, ["PARAM", *labels])
        shown = comparison.shown(comparison.params, self.only_differences)
        rows = [(p.key, (Text(p.key, "bold"), *(_cell(v) for v in p.values))) for p in shown]
        if not rows:
            total = len(comparison.params)
            note = f"all {total} params the same (d shows them)" if total else "no params logged"
            rows = [("(none)", (Text(note, "grey50"), *[""] * len(labels)))]
        sync_rows(table, rows)

    def _show_metrics(self, comparison: Any, labels: list[str]) -> None:
        from ame_core.compare import fmt

        table = self.query_one("#compare-metrics", DataTable)
        _columns(table, ["METRIC", "", *labels])
        rows = []
        step = self.step or 0
        for m in comparison.shown(comparison.metrics, self.only_differences):
            parts = (
                ("last", lambda s: s.last),
                ("min", lambda s: s.min),
                ("max", lambda s: s.max),
                (f"at step {step}", lambda s: s.at(step)),
            )
            for i, (what, value) in enumerate(parts):
                values = [None if s is None else value(s) for s in m.series]
                cells = [_best(fmt(v), v, values) for v in values]
                name = Text(m.key, "bold") if i == 0 else Text("")
                rows.append((f"{m.key}/{what.split()[0]}", (name, Text(what, "grey50"), *cells)))
        if not rows:
            total = len(comparison.metrics)
            note = f"all {total} metrics the same (d shows them)" if total else "no metrics logged"
            rows = [("(none)", (Text(note, "grey50"), "", *[""] * len(labels)))]
        sync_rows(table, rows)

    # --- keys -----------------------------------------------------------------------------------

    def action_differences(self) -> None:
        self.only_differences = not self.only_differences
        self._show()

    def action_step(self, delta: int) -> None:
        if self.comparison is None:
            return
        last = self.comparison.last_step
        self.step = max(0, min(last, (self.step or 0) + delta))
        self._show()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab


def _columns(table: DataTable, names: list[str]) -> None:
    if [str(c.label) for c in table.columns.values()] != names:
        table.clear(columns=True)
        table.add_columns(*names)


def _cell(value: str | None) -> Text:
    return Text("—", "grey50") if value is None else Text(value)


def _best(text: str, value: float | None, values: list[float | None]) -> Text:
    """The highest of a row in bold, so the eye finds it (higher is not always better: no
    colour says good or bad)."""
    known = [v for v in values if v is not None]
    if value is None:
        return Text(text, "grey50")
    if len(set(known)) > 1 and value == max(known):
        return Text(text, "bold")
    return Text(text)
