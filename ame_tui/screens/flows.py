"""Flows: what `t`, `v`, `d`, `u` (and `ame model …`) started, each driven by its own process.

The list shows recent flows with the step each one is at; `enter` opens one (its steps, their
runs, its events), where `enter` on a step opens that step's run; `c` cancels a flow (its current
run too). Both read `AmeApp.flows`, which the app polls while they are shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ame_core.flows.text import step_line
from ame_tui.screens.base import View, age, duration, now, run_duration
from ame_tui.services.flows import FLOW_STYLE, STEP_STYLE
from ame_tui.widgets.table import selected_key, sync_rows

EVENTS_SHOWN = 12  # the last events of a flow on its detail screen


def flow_status(record: Any) -> Text:
    text = Text(record.status.value, style=FLOW_STYLE.get(record.status.value, ""))
    if record.resumes:
        text.append(f" (resumed {record.resumes}×)", style="grey50")
    return text


def flow_cells(record: Any, clock: float) -> tuple[Any, ...]:
    return (
        record.id,
        Text(record.title, "bold"),
        flow_status(record),
        step_line(record),
        age(clock - record.created_at) + " ago" if record.created_at else "",
        duration(run_duration(record, clock)),
    )


class FlowsView(View):
    VIEW_TITLE = "Flows"
    WANTS_FLOWS = True
    BINDINGS: ClassVar[list[Any]] = [
        Binding("enter", "open", "Detail", id="open_flow"),
        Binding("c", "cancel", "Cancel flow", id="cancel_flow"),
    ]

    def compose_body(self) -> ComposeResult:
        yield from self.compose_summary_table(
            "flows", ("FLOW", "WHAT", "STATUS", "STEPS", "STARTED", "DURATION")
        )

    def on_mount(self) -> None:
        self.watch(self.app, "flows", lambda _: self._show(), init=False)
        self.watch(self.app, "flows_state", lambda _: self._show(), init=False)
        self._show()

    def refresh_data(self) -> None:
        self.ame.refresh_flows()

    def _show(self) -> None:
        clock = now(self.app)
        flows = self.ame.flows
        sync_rows(self.query_one(DataTable), [(r.id, flow_cells(r, clock)) for r in flows])
        if not self.ame.flows_loaded and not self.ame.flows_state:
            text = Text(" reading flows …", style="grey50")
        elif not flows:
            text = Text(" no flows yet: t in Models trains a model (a flow)", style="grey50")
        else:
            going = sum(1 for r in flows if not r.status.finished)
            text = Text(f" {len(flows)} flows, {going} going")
            text.append(" │ each one finishes without the console", style="grey50")
        if self.ame.flows_state:
            text.append(f" │ flows: {self.ame.flows_state}", style="red")
        self.query_one("#flows-summary", Static).update(text)

    def _selected(self) -> Any:
        flow_id = selected_key(self.query_one(DataTable))
        return next((r for r in self.ame.flows if r.id == flow_id), None)

    def action_open(self) -> None:
        record = self._selected()
        if record is not None:
            self.ame.open_flow(record.id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_cancel(self) -> None:
        record = self._selected()
        if record is None:
            return
        if record.status.finished:
            self.notify(f"flow {record.id} already {record.status.value}", severity="warning")
            return
        self.ame.confirm_cancel_flow(record.id, record.title)


class FlowDetailScreen(View):
    VIEW_TITLE = "Flow"
    WANTS_FLOWS = True
    BINDINGS: ClassVar[list[Any]] = [
        Binding("enter", "open_run", "Step's run", id="open_step_run"),
        Binding("c", "cancel", "Cancel flow", id="cancel_flow_detail"),
        Binding("escape", "app.back", "Back", id="back_flow"),
    ]

    def __init__(self, flow_id: str) -> None:
        super().__init__()
        self.flow_id = flow_id
        # the step the cursor was put on: it follows the flow until the user moves it
        self._auto_step: str | None = None
        self._follow = True

    def compose_body(self) -> ComposeResult:
        yield from self.compose_summary_table("flow", ("STEP", "STATUS", "RUN", "DURATION", "NOTE"))
        yield Static("", id="flow-events")

    def on_mount(self) -> None:
        self.watch(self.app, "flows", lambda _: self._show(), init=False)
        self._show()

    def refresh_data(self) -> None:
        self.ame.refresh_flows()

    @property
    def record(self) -> Any:
        return next((r for r in self.ame.flows if r.id == self.flow_id), None)

    def _show(self) -> None:
        record = self.record
        summary = self.query_one("#flow-summary", Static)
        if record is None:
            summary.update(Text(f" flow {self.flow_id}: reading its record …", style="grey50"))
            return
        clock = now(self.app)
        text = Text(" flow ")
        text.append(record.id, style="bold")
        text.append(f" │ {record.title} │ ")
        text.append_text(flow_status(record))
        if record.reason:
            text.append(f" ({record.reason})", style="grey50")
        if record.created_at:
            text.append(f" │ started {age(clock - record.created_at)} ago", style="grey50")
        summary.update(text)
        table = self.query_one(DataTable)
        rows = [
            (
                step.name,
                (
                    Text(step.name, "bold"),
                    Text(step.status.value, style=STEP_STYLE.get(step.status.value, "")),
                    step.run_id or "",
                    duration(run_duration(step, clock)) if step.started_at else "",
                    step.note or "",
                ),
            )
            for step in record.steps
        ]
        sync_rows(table, rows)
        current = record.current
        selected = selected_key(table)
        if self._auto_step is not None and selected != self._auto_step:
            self._follow = False  # the user moved the cursor: leave it where it is
        if current is not None and self._follow:
            keys = [key for key, _ in rows]
            table.move_cursor(row=keys.index(current.name), animate=False)
            self._auto_step = current.name
        self.query_one("#flow-events", Static).update(self._events(record))

    def _events(self, record: Any) -> Text:
        text = Text(" events", style="bold")
        for event in record.events[-EVENTS_SHOWN:]:
            offset = duration(event.get("time", record.created_at) - record.created_at)
            text.append(f"\n  +{offset:<6} ", style="grey50")
            text.append(str(event.get("text", "")))
        log = self._driver_log(record)
        if log:
            text.append(f"\n driver log: {log}", style="grey50")
        return text

    def _driver_log(self, record: Any) -> str | None:
        """Where a local driver writes (LocalFlowStore's layout), relative to the project: no
        machine paths on screen, and no I/O here."""
        if record.backend != "local":
            return None
        path = Path(self.ame.ctx.project_dir) / ".ame" / "flows" / f"{record.id}.log"
        return str(path.relative_to(self.ame.ctx.project_dir))

    def action_open_run(self) -> None:
        """The selected step's run, else the run of the step the flow is at."""
        record = self.record
        if record is None:
            return
        name = selected_key(self.query_one(DataTable))
        step = next((s for s in record.steps if s.name == name), None)
        run_id = step.run_id if step is not None else None
        if run_id is None:
            run_id = next((s.run_id for s in reversed(record.steps) if s.run_id), None)
        if run_id is None:
            what = f"step {name}" if name else "this flow"
            self.notify(f"{what} has no run", severity="warning")
            return
        self.ame.open_run(run_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_run()

    def action_cancel(self) -> None:
        record = self.record
        if record is None:
            return
        if record.status.finished:
            self.notify(f"flow {record.id} already {record.status.value}", severity="warning")
            return
        self.ame.confirm_cancel_flow(record.id, record.title)
