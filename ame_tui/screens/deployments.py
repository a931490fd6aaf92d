"""Deployments: each served model with version, health, live traffic (requests per minute,
error rate, p95 latency, the drift verdict), URL and replicas; under the table the selected
model's requests over the window as a chart. `enter` opens its whole monitoring report; `s`
sends a smoke request (the model's input example, or a row the user types) and shows answer
and latency."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Sparkline, Static

from ame_core.errors import one_line
from ame_tui.screens.base import PolledView, styled_status
from ame_tui.screens.dialogs import SmokeScreen, smoke_status
from ame_tui.widgets.table import selected_key, sync_rows
from ame_tui.workers import background


class EndpointsFetched(Message):
    def __init__(self, endpoints: list[Any], error: str = "") -> None:
        super().__init__()
        self.endpoints = endpoints
        self.error = error


class MonitoringFetched(Message):
    """The live reports of the served models (model → report, or an error line)."""

    def __init__(self, reports: dict[str, Any], errors: dict[str, str]) -> None:
        super().__init__()
        self.reports = reports
        self.errors = errors


DRIFT_STYLE = {"ok": "green", "drift": "bold red", "not enough data": "yellow"}


class DeploymentsView(PolledView):
    POLL_SECONDS = 2.0
    TICK_SECONDS = 0.5
    MONITOR_SECONDS = 5.0  # live figures: reading the request log is cheap, not free

    VIEW_TITLE = "Deployments"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("enter", "report", "Monitoring report", id="monitor_report"),
        Binding("s", "smoke", "Smoke request", id="smoke"),
        Binding("u", "undeploy", "Undeploy", id="undeploy"),
    ]

    def compose_body(self) -> ComposeResult:
        yield from self.compose_summary_table(
            "deploy",
            (
                "MODEL", "VERSION", "STATUS", "REQ/MIN", "ERRORS", "P95", "DRIFT",
                "URL", "REPLICAS", "BACKEND", "DETAIL",
            ),
        )  # fmt: skip
        yield Static("", id="monitor-line")
        yield Sparkline([], id="monitor-chart")
        yield Static("", id="smoke-result")

    def on_mount(self) -> None:
        self.endpoints: list[Any] = []
        self.loaded = False
        self.error = ""
        self.smoked: tuple[str, str] | None = None  # (model, version) the smoke line is about
        self.reports: dict[str, Any] = {}  # model → its live monitoring report
        self.report_errors: dict[str, str] = {}
        self._monitored_at = 0.0
        self._monitoring = False
        self.start_polling()
        self._show()

    def fetch(self, info: Any) -> None:
        import time

        self._fetch(info.name)
        now = time.monotonic()
        if (
            self.endpoints
            and not self._monitoring
            and now - self._monitored_at >= self.MONITOR_SECONDS
        ):
            self._monitored_at, self._monitoring = now, True
            self._fetch_monitoring(info, [e.model for e in self.endpoints if e.version])

    @background(exclusive=True, group="monitoring")
    def _fetch_monitoring(self, info: Any, models: list[str]) -> None:
        from ame_tui.services.monitoring import live_report

        reports: dict[str, Any] = {}
        errors: dict[str, str] = {}
        try:
            for model in models:
                try:
                    reports[model] = live_report(self.ame.ctx, info, model)
                except Exception as exc:  # noqa: BLE001 - one line in the model's row
                    errors[model] = one_line(exc)
        finally:
            self.post_message(MonitoringFetched(reports, errors))

    def on_monitoring_fetched(self, message: MonitoringFetched) -> None:
        self._monitoring = False
        self.reports = message.reports
        self.report_errors = message.errors
        self._show()

    @background(exclusive=True, group="endpoints")
    def _fetch(self, project: str) -> None:
        try:
            ctx = self.ame.ctx
            endpoints = ctx.backend().list_endpoints(ctx.run_context(project))
            self.post_message(EndpointsFetched(endpoints))
        except Exception as exc:  # noqa: BLE001 - one line in the summary
            self.post_message(EndpointsFetched(self.endpoints, one_line(exc)))
        finally:
            self._busy = False

    def on_endpoints_fetched(self, message: EndpointsFetched) -> None:
        self.endpoints = sorted(message.endpoints, key=lambda e: e.model)
        self.error = message.error
        self.loaded = True
        self._show()

    def _show(self) -> None:
        from ame_tui.services.monitoring import summary

        rows = []
        for e in self.endpoints:
            report = self.reports.get(e.model)
            if report is not None and str(report.get("version")) == str(e.version):
                cells = summary(report)
                live = (
                    cells["rate"],
                    cells["errors"],
                    cells["p95"],
                    Text(cells["drift"], style=DRIFT_STYLE.get(cells["verdict"], "grey50")),
                )
            elif e.model in self.report_errors:
                live = ("—", "—", "—", Text("report failed", style="red"))
            else:
                live = ("…", "…", "…", Text("…", style="grey50"))
            rows.append(
                (
                    e.model,
                    (
                        Text(e.model, "bold"),
                        f"v{e.version}",
                        styled_status(e.status.value),
                        *live,
                        e.url or "—",
                        f"{e.ready_replicas}/{e.replicas}",
                        e.backend,
                        e.detail or "",
                    ),
                )
            )
        sync_rows(self.query_one(DataTable), rows)
        if not self.loaded:
            text = Text(" asking the backend …", style="grey50")
        elif not rows:
            text = Text(" nothing is served: d in Models deploys a version", style="grey50")
        else:
            ready = sum(1 for e in self.endpoints if e.status.value == "ready")
            text = Text(f" {len(rows)} served, {ready} ready")
        if self.error:
            text.append(f" │ backend: {self.error}", style="red")
        self.query_one("#deploy-summary", Static).update(text)
        served = {(e.model, str(e.version)) for e in self.endpoints}
        if self.smoked is not None and self.smoked not in served:
            # the version it answered for is no longer served: its answer is history
            self.smoked = None
            self.query_one("#smoke-result", Static).update("")
        self._show_monitoring()
        self.refresh_bindings()  # s and u are offered only with a served model selected

    def _show_monitoring(self) -> None:
        """The selected model's live figures and its requests over the window."""
        from ame_core.durations import format_duration
        from ame_core.monitoring.text import traffic_line

        line, chart = self.query_one("#monitor-line", Static), self.query_one(Sparkline)
        endpoint = self._selected()
        report = self.reports.get(endpoint.model) if endpoint is not None else None
        if endpoint is None or report is None:
            error = self.report_errors.get(endpoint.model) if endpoint is not None else None
            line.update(Text(f" monitoring: {error}", style="red") if error else "")
            chart.data = []
            return
        window = format_duration(report["window"]["seconds"])
        text = Text(f" {endpoint.model} v{report['version']} · last {window}: ", style="bold")
        text.append(traffic_line(report["traffic"]))
        found = report["drift"]
        text.append(" · ")
        from ame_core.monitoring.text import verdict_line

        text.append(verdict_line(found), style=DRIFT_STYLE.get(found["verdict"], "grey50"))
        text.append("  (enter: the whole report)", style="grey50")
        line.update(text)
        series = report["traffic"].get("series") or {}
        chart.data = [float(v) for v in series.get("requests") or []]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("smoke", "undeploy", "report") and self._selected() is None:
            return False
        return super().check_action(action, parameters)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_monitoring()
        self.refresh_bindings()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_report()

    def action_report(self) -> None:
        from ame_tui.screens.monitor_report import MonitorReportScreen

        endpoint = self._selected()
        if endpoint is not None:
            self.app.push_screen(
                MonitorReportScreen(endpoint.model, self.reports.get(endpoint.model))
            )

    def _selected(self) -> Any:
        tables = self.query(DataTable)
        if not tables:  # asked before the view is composed
            return None
        model = selected_key(tables.first())
        return next((e for e in getattr(self, "endpoints", []) if e.model == model), None)

    def action_smoke(self) -> None:
        endpoint = self._selected()
        if endpoint is None:
            self.notify("select a served model first", severity="warning")
            return
        if not endpoint.url:
            self.notify(
                f"{endpoint.model} has no URL yet ({endpoint.status.value})", severity="warning"
            )
            return

        def shown(result: Any) -> None:
            if result is not None:
                self.show_smoke(endpoint, result)

        self.app.push_screen(SmokeScreen(endpoint.model, endpoint.version, endpoint.url), shown)

    def show_smoke(self, endpoint: Any, result: Any) -> None:
        text = Text(f" smoke {endpoint.model} v{endpoint.version}: ", style="bold")
        text.append_text(smoke_status(result))
        text.append(f" in {result.latency_ms:.0f} ms\n ")
        text.append(result.answer)
        self.smoked = (endpoint.model, str(endpoint.version))
        self.query_one("#smoke-result", Static).update(text)

    def action_undeploy(self) -> None:
        endpoint = self._selected()
        if endpoint is not None:
            self.ame.confirm_undeploy(endpoint.model)
