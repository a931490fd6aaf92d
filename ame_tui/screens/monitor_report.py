"""A served model's whole monitoring report: traffic per version, the requests of the window
as a chart, each feature's drift test, what the log holds. `r` reads it again, `m` records it
in MLflow (as `ame model monitor` does)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Sparkline, Static

from ame_core.errors import one_line
from ame_tui.screens.base import View
from ame_tui.widgets.table import sync_rows
from ame_tui.workers import background

VERDICT_STYLE = {"ok": "green", "drift": "bold red", "not enough data": "yellow"}


class ReportFetched(Message):
    def __init__(self, report: dict[str, Any] | None, error: str = "", recorded: bool = False):
        super().__init__()
        self.report = report
        self.error = error
        self.recorded = recorded


def verdict_text(report: dict[str, Any]) -> Text:
    from ame_core.monitoring.text import verdict_line

    found = report["drift"]
    return Text(verdict_line(found), style=VERDICT_STYLE.get(found["verdict"], "grey50"))


class MonitorReportScreen(View):
    VIEW_TITLE = "Monitoring"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("r", "reload", "Read again", id="reload_report"),
        Binding("m", "record", "Record in MLflow", id="record_report"),
        Binding("escape", "app.back", "Back", id="back_report"),
    ]

    def __init__(self, model: str, report: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.model = model
        self.report = report

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="report-body"):
            yield Static("", id="report-summary", classes="summary")
            yield Static("", id="report-traffic")
            yield Static(Text(" requests per minute over the window", style="grey50"))
            yield Sparkline([], id="report-chart")
            yield Static("", id="report-verdict")
            table: DataTable = DataTable(id="report-features", cursor_type="row")
            table.add_columns("FEATURE", "TEST", "STATISTIC", "P-VALUE", "THRESHOLD", "DRIFTED")
            yield table
            yield Static("", id="report-notes")

    def on_mount(self) -> None:
        if self.report is not None:
            self._show()
        self.action_reload()

    def action_reload(self) -> None:
        info = self.ame.project
        if info is not None:
            self._fetch(info, record=False)

    def action_record(self) -> None:
        info = self.ame.project
        if info is not None:
            self.notify(f"recording a report on {self.model} in MLflow …")
            self._fetch(info, record=True)

    @background(exclusive=True, group="monitor-report")
    def _fetch(self, info: Any, record: bool) -> None:
        from ame_tui.services import monitoring

        try:
            get = monitoring.recorded_report if record else monitoring.live_report
            self.post_message(ReportFetched(get(self.ame.ctx, info, self.model), recorded=record))
        except Exception as exc:  # noqa: BLE001 - one line on the screen
            self.post_message(ReportFetched(None, one_line(exc)))

    def on_report_fetched(self, message: ReportFetched) -> None:
        if message.report is None:
            self.query_one("#report-summary", Static).update(
                Text(f" {self.model}: {message.error}", style="red")
            )
            return
        self.report = message.report
        if message.recorded:
            self.notify(f"recorded: MLflow run {message.report.get('mlflow_run_id')}")
        self._show()

    def _show(self) -> None:
        from ame_core.durations import format_duration
        from ame_core.monitoring.text import feature_cells, server_line, traffic_line

        report = self.report
        assert report is not None
        summary = Text(f" {report['model']} v{report['version']}", style="bold")
        summary.append(f" │ last {format_duration(report['window']['seconds'])} │ ")
        summary.append_text(verdict_text(report))
        self.query_one("#report-summary", Static).update(summary)
        lines = Text(f" all        {traffic_line(report['traffic'])}")
        for version, figures in (report.get("versions") or {}).items():
            lines.append(f"\n v{version:<9} {traffic_line(figures)}")
        server = report.get("server_metrics")
        if server:
            lines.append(f"\n server     {server_line(server)}")
        self.query_one("#report-traffic", Static).update(lines)
        series = report["traffic"].get("series") or {}
        self.query_one(Sparkline).data = [float(v) for v in series.get("requests") or []]
        found = report["drift"]
        verdict = Text(" drift      ")
        verdict.append_text(verdict_text(report))
        if found.get("reference"):
            ref = found["reference"]
            verdict.append(f"\n reference  {ref['source']} ({ref['rows']} rows)", style="grey50")
        self.query_one("#report-verdict", Static).update(verdict)
        rows = []
        for f in found.get("features") or []:
            rows.append(
                (
                    f["feature"],
                    (
                        Text(f["feature"], "bold" if f["drifted"] else ""),
                        f["method"],
                        *feature_cells(f),
                        Text("yes", "bold red") if f["drifted"] else Text("no", "green"),
                    ),
                )
            )
        sync_rows(self.query_one(DataTable), rows)
        notes = Text()
        inputs = report.get("inputs") or {}
        notes.append(f" inputs     {inputs.get('rows', 0)} rows sampled")
        if inputs.get("not_matching_signature"):
            notes.append(f" · {inputs['not_matching_signature']} not matching the signature")
        for reason, count in (inputs.get("requests_without_rows") or {}).items():
            notes.append(f" · {count} requests {reason}")
        for warning in report.get("warnings") or []:
            notes.append(f"\n warning    {warning}", style="yellow")
        for missing in report.get("unavailable") or []:
            notes.append(f"\n not here   {missing}", style="grey50")
        if report.get("mlflow_run_id"):
            notes.append(f"\n recorded   MLflow run {report['mlflow_run_id']}")
        self.query_one("#report-notes", Static).update(notes)
