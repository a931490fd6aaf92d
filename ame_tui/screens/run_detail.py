"""Run detail: the live log, params and metrics with charts, artifacts, pipeline steps."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane

from ame_core.errors import one_line
from ame_tui.screens.base import View, duration, now, resources_text, run_duration, styled_status
from ame_tui.screens.runs import run_cells
from ame_tui.services.logstore import LineStore
from ame_tui.widgets.filter_input import FilterInput
from ame_tui.widgets.log_view import LogView
from ame_tui.widgets.metric_chart import MetricChart, fmt
from ame_tui.widgets.table import selected_key, sync_rows
from ame_tui.workers import background

RECORD_POLL = 1.0
METRICS_POLL = 2.0


class RecordFetched(Message):
    def __init__(self, record: Any, steps: list[Any]) -> None:
        super().__init__()
        self.record = record
        self.steps = steps


class RunDataFetched(Message):
    def __init__(self, data: Any) -> None:
        super().__init__()
        self.data = data


class LogSource(Message):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path


class LogEnded(Message):
    """The run ended and its whole log is in the view's file."""


class SearchResult(Message):
    def __init__(self, term: str, line: int | None) -> None:
        super().__init__()
        self.term = term
        self.line = line


class RunDetailScreen(View):
    VIEW_TITLE = "Run"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("f", "follow", "Follow", id="follow"),
        Binding("w", "wrap", "Wrap", id="wrap"),
        Binding("j", "json", "JSON lines: raw / pretty", show=False, id="json_raw"),
        Binding("slash", "search", "Search", id="search"),
        Binding("n", "next_match", "Next", id="next_match"),
        Binding("N", "prev_match", "Prev", show=False, id="prev_match"),
        Binding("l", "tab('log')", "Log", show=False, id="tab_log"),
        Binding("m", "tab('metrics')", "Metrics", show=False, id="tab_metrics"),
        Binding("a", "tab('artifacts')", "Artifacts", show=False, id="tab_artifacts"),
        Binding("p", "tab('steps')", "Steps", show=False, id="tab_steps"),
        Binding("c", "cancel", "Cancel run", id="cancel"),
        Binding("escape", "app.back", "Back", id="back_detail"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.record: Any = None
        self.steps: list[Any] = []
        self._data_last = 0.0
        self._data_busy = False
        self._record_busy = False
        self._final_data = False
        self._log_started = False
        self._spool: tempfile.TemporaryDirectory[str] | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(f" run {self.run_id} …", id="run-header", classes="summary")
        with TabbedContent(id="run-tabs", initial="log"):
            with TabPane("Log", id="log"):
                yield Static("", id="log-state")
                yield LogView(id="log-view")
                yield FilterInput(
                    placeholder="search the log (enter: find, n/N: next/prev)", id="log-search"
                )
            with TabPane("Metrics", id="metrics"), VerticalScroll():
                yield Static("", id="metrics-note")
                yield MetricChart(id="metric-chart")
                params: DataTable = DataTable(id="params-table", cursor_type="row")
                params.add_columns("PARAM", "VALUE")
                yield params
            with TabPane("Artifacts", id="artifacts"):
                artifacts: DataTable = DataTable(id="artifacts-table", cursor_type="row")
                artifacts.add_columns("PATH", "SIZE")
                yield artifacts
            with TabPane("Steps", id="steps"):
                steps: DataTable = DataTable(id="steps-table", cursor_type="row")
                steps.add_columns(
                    "RUN",
                    "TASK",
                    "KIND",
                    "STATUS",
                    "AGE",
                    "DURATION",
                    "BACKEND",
                    "RESOURCES",
                    "MODEL",
                )
                yield steps

    def on_mount(self) -> None:
        self.query_one(TabbedContent).hide_tab("steps")
        self._fetch_record()
        self.set_interval(0.5, self._tick)
        self.query_one(LogView).focus()

    def on_unmount(self) -> None:
        if self._spool is not None:
            self._spool.cleanup()

    def on_screen_resume(self) -> None:
        self.app.view_title = f"Run {self.run_id}"  # type: ignore[attr-defined]

    # --- polling --------------------------------------------------------------------------------

    def _tick(self) -> None:
        if not self.is_current:
            return
        finished = self.record is not None and self.record.status.finished
        if not self._record_busy and not finished:
            self._fetch_record()
        if (
            self.record is not None
            and self.record.mlflow_run_id
            and not self._data_busy
            and not self._final_data
            and self.ame.mlflow_ok
            and time.monotonic() - self._data_last >= METRICS_POLL
        ):
            self._fetch_data(self.record.mlflow_run_id, finished)

    def refresh_data(self) -> None:
        if not self._record_busy:
            self._fetch_record()

    @background(exclusive=True, group="run-record")
    def _fetch_record(self) -> None:
        self._record_busy = True
        try:
            backend = self.ame.ctx.backend()
            record = backend.get_run(self.run_id)
            steps = []
            for step_id in record.step_ids:
                try:
                    steps.append(backend.get_run(step_id))
                except Exception:  # noqa: BLE001 - a step not started yet
                    continue
            self.post_message(RecordFetched(record, steps))
        except Exception as exc:  # noqa: BLE001
            from ame_tui.messages import BackendProblem

            self.post_message(BackendProblem(one_line(exc)))
        finally:
            self._record_busy = False

    def on_backend_problem(self, message: Any) -> None:
        if self.record is None:
            self.query_one("#run-header", Static).update(
                Text(f" run {self.run_id}: {message.detail}", style="red")
            )

    def on_record_fetched(self, message: RecordFetched) -> None:
        self.record = record = message.record
        self.steps = message.steps
        self._show_header()
        if not self._log_started:
            self._log_started = True
            self._open_log()
        if record.status.finished:
            if record.mlflow_run_id and not self._final_data and self.ame.mlflow_ok:
                self._fetch_data(record.mlflow_run_id, True)
        if record.step_ids:
            self.query_one(TabbedContent).show_tab("steps")
            clock = now(self.app)
            sync_rows(
                self.query_one("#steps-table", DataTable),
                [(s.id, run_cells(s, clock)) for s in self.steps],
            )
        if not record.mlflow_run_id:
            self.query_one("#metrics-note", Static).update(
                Text(" this run has no MLflow run (yet)", style="grey50")
            )

    def _show_header(self) -> None:
        record = self.record
        clock = now(self.app)
        text = Text(" ")
        text.append(record.task, style="bold")
        text.append(f"  {record.id}  ", style="grey50")
        text.append_text(styled_status(record.status.value))
        if record.exit_code is not None:
            text.append(f" (exit {record.exit_code})", style="grey50")
        text.append(f" │ {record.kind}")
        if record.model_name:
            version = f" v{record.model_version}" if record.model_version else ""
            text.append(f" {record.model_name}{version}", style="bold")
        text.append(f" │ {record.backend} │ {duration(run_duration(record, clock))}")
        if record.resources:
            text.append(f" │ {resources_text(record.resources)}", style="grey50")
        if record.reason:
            text.append(
                f"\n {record.reason}", style="red" if record.status.value == "failed" else "grey50"
            )
        self.query_one("#run-header", Static).update(text)

    # --- the log --------------------------------------------------------------------------------

    def _open_log(self) -> None:
        """The log as the backend gives it (`follow_logs`, whichever backend), copied into a
        local file the view indexes: a log of any size scrolls without holding it in memory."""
        self._spool = tempfile.TemporaryDirectory(prefix="ame-tui-log-")
        spool = Path(self._spool.name) / "log.txt"
        spool.touch()
        self.query_one(LogView).open(spool)
        self._copy_log(spool)

    @background(exclusive=True, group="log-copy")
    def _copy_log(self, spool: Path) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        backend = self.ame.ctx.backend()
        offset = 0
        with open(spool, "a", encoding="utf-8") as out:
            while not worker.is_cancelled:
                try:
                    chunks = backend.follow_logs(
                        self.run_id, offset, stop=lambda: worker.is_cancelled
                    )
                    for chunk in chunks:
                        out.write(chunk.text)
                        out.flush()
                        offset = chunk.offset
                    if worker.is_cancelled:
                        return  # the screen closed
                except Exception:  # noqa: BLE001 - retried; the header shows backend trouble
                    time.sleep(1.0)
                    continue
                break  # the run ended and its log is all here
        self.post_message(LogEnded())

    def on_log_ended(self, message: LogEnded) -> None:
        self.query_one(LogView).finish()

    def on_log_view_changed(self, message: LogView.Changed) -> None:
        view = message.view
        text = Text(" ")
        if view.follow:
            text.append("● following", style="green")
        else:
            text.append("⏸ paused", style="yellow")
            text.append(" (f follows)", style="grey50")
        text.append(f" │ {view.line_count:,} lines", style="grey50")
        text.append(" │ wrap " + ("on" if view.wrap else "off"), style="grey50")
        if not view.pretty:
            text.append(" │ JSON lines raw (j: pretty)", style="yellow")
        if view.search:
            where = "" if view.current_match is None else f" at line {view.current_match + 1:,}"
            text.append(f" │ search '{view.search}'{where}", style="yellow")
        self.query_one("#log-state", Static).update(text)

    def action_follow(self) -> None:
        self.query_one(TabbedContent).active = "log"
        view = self.query_one(LogView)
        view.follow = True
        view.focus()

    def action_wrap(self) -> None:
        view = self.query_one(LogView)
        view.wrap = not view.wrap
        self.on_log_view_changed(LogView.Changed(view))

    def action_json(self) -> None:
        """JSON object lines: readable and coloured, or as the task printed them."""
        self.query_one(TabbedContent).active = "log"
        view = self.query_one(LogView)
        view.pretty = not view.pretty

    def action_search(self) -> None:
        self.query_one(TabbedContent).active = "log"
        self.query_one("#log-search", FilterInput).open()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "log-search":
            view = self.query_one(LogView)
            view.search = event.value.strip()
            view.focus()
            if view.search:
                start = (
                    view.current_match + 1
                    if view.current_match is not None
                    else view.scroll_offset.y
                )
                self._find(view.store, view.search, start, False)

    def action_next_match(self) -> None:
        view = self.query_one(LogView)
        if view.search:
            start = (
                view.current_match + 1 if view.current_match is not None else view.scroll_offset.y
            )
            self._find(view.store, view.search, start, False)

    def action_prev_match(self) -> None:
        view = self.query_one(LogView)
        if view.search:
            start = view.current_match if view.current_match is not None else view.scroll_offset.y
            self._find(view.store, view.search, start, True)

    @background(exclusive=True, group="log-search")
    def _find(self, store: LineStore | None, term: str, start: int, backwards: bool) -> None:
        # The store comes from the UI thread: no DOM query from a worker.
        line = store.find(term, start, backwards) if store is not None else None
        if line is None and store is not None:  # wrap around, like less
            line = store.find(term, store.line_count - 1 if backwards else 0, backwards)
        if line is not None and store is not None:
            store.read_lines(max(0, line - 20), 80)
        self.post_message(SearchResult(term, line))

    def on_search_result(self, message: SearchResult) -> None:
        view = self.query_one(LogView)
        if message.line is None:
            self.notify(f"'{message.term}' not found", severity="warning")
            return
        view.show_line(message.line)

    # --- MLflow data --------------------------------------------------------------------------

    @background(exclusive=True, group="run-data")
    def _fetch_data(self, mlflow_run_id: str, final: bool) -> None:
        from ame_tui.services import mlflow_data

        self._data_busy = True
        self._data_last = time.monotonic()
        try:
            data = mlflow_data.run_data(self.ame.ctx.tracking_uri, mlflow_run_id)
        except mlflow_data.MlflowUnavailable as exc:
            self.ame.mlflow_failed(str(exc))
        except LookupError:
            pass  # the MLflow run is not there yet
        else:
            self._final_data = final
            self.post_message(RunDataFetched(data))
        finally:
            self._data_busy = False

    def on_run_data_fetched(self, message: RunDataFetched) -> None:
        data = message.data
        self.query_one(MetricChart).histories = data.history
        note = Text(f" MLflow run {data.name}", style="bold") if data.name else Text("")
        note.append(
            f"  {data.status}  {len(data.params)} params, {len(data.metrics)} metrics",
            style="grey50",
        )
        self.query_one("#metrics-note", Static).update(note)
        sync_rows(
            self.query_one("#params-table", DataTable),
            [(k, (k, v)) for k, v in sorted(data.params.items())],
        )
        artifacts = [(p, (p + ("/" if d else ""), _size_cell(s, d))) for p, s, d in data.artifacts]
        if not artifacts:
            note = Text("no artifacts: this run logged none", style="grey50")
            artifacts = [("(none)", (note, ""))]
        sync_rows(self.query_one("#artifacts-table", DataTable), artifacts)

    # --- actions --------------------------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tab == "steps" and not (self.record and self.record.step_ids):
            return
        tabs.active = tab
        focus = {
            "log": "#log-view",
            "metrics": "#params-table",
            "artifacts": "#artifacts-table",
            "steps": "#steps-table",
        }
        self.query_one(focus[tab]).focus()

    def action_cancel(self) -> None:
        if self.record is None:
            return
        if self.record.status.finished:
            self.notify(f"run {self.run_id} already {self.record.status.value}", severity="warning")
            return
        self.ame.confirm_cancel(self.run_id, self.record.task)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "steps-table":
            event.stop()
            step_id = selected_key(event.data_table)
            if step_id:
                self.ame.open_run(step_id)


def _size_cell(size: int | str | None, is_dir: bool) -> str:
    """A file's size; a folder has none, a logged model's folder says what it is."""
    if isinstance(size, str):
        return size
    return "" if is_dir or size is None else _size(size)


def _size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


__all__ = ["RunDetailScreen", "fmt"]
