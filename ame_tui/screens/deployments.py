"""Deployments: each served model with version, URL, health, replicas. `s` sends a smoke
request (the model's input example, or a row the user types) and shows answer and latency."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static

from ame_tui.screens.base import PolledView, styled_status
from ame_tui.screens.dialogs import SmokeScreen, smoke_status
from ame_tui.services.errors import one_line
from ame_tui.widgets.table import selected_key, sync_rows
from ame_tui.workers import background


class EndpointsFetched(Message):
    def __init__(self, endpoints: list[Any], error: str = "") -> None:
        super().__init__()
        self.endpoints = endpoints
        self.error = error


class DeploymentsView(PolledView):
    POLL_SECONDS = 2.0
    TICK_SECONDS = 0.5

    VIEW_TITLE = "Deployments"
    BINDINGS: ClassVar[list[Any]] = [
        Binding("s", "smoke", "Smoke request", id="smoke"),
        Binding("u", "undeploy", "Undeploy", id="undeploy"),
    ]

    def compose_body(self) -> ComposeResult:
        yield from self.compose_summary_table(
            "deploy", ("MODEL", "VERSION", "STATUS", "URL", "REPLICAS", "BACKEND", "DETAIL")
        )
        yield Static("", id="smoke-result")

    def on_mount(self) -> None:
        self.endpoints: list[Any] = []
        self.loaded = False
        self.error = ""
        self.smoked: tuple[str, str] | None = None  # (model, version) the smoke line is about
        self.start_polling()
        self._show()

    def fetch(self, info: Any) -> None:
        self._fetch(info.name)

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
        rows = []
        for e in self.endpoints:
            rows.append(
                (
                    e.model,
                    (
                        Text(e.model, "bold"),
                        f"v{e.version}",
                        styled_status(e.status.value),
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
        self.refresh_bindings()  # s and u are offered only with a served model selected

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("smoke", "undeploy") and self._selected() is None:
            return False
        return super().check_action(action, parameters)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

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
