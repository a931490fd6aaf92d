"""Tasks: every task of ame.yml after template resolution, with its last run. `r` runs one."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ame_tui.screens.base import View, age, resources_text, styled_status
from ame_tui.widgets.table import selected_key, sync_rows


class TasksView(View):
    VIEW_TITLE = "Tasks"
    WANTS_RUNS = True
    BINDINGS: ClassVar[list[Any]] = [
        Binding("r", "run_task", "Run", id="run_task"),
        Binding("enter", "open_last", "Last run", id="open_last"),
    ]

    def compose_body(self) -> ComposeResult:
        yield from self.compose_summary_table(
            "tasks", ("TASK", "EXECUTOR", "COMMAND", "RESOURCES", "TRIGGER", "LAST RUN", "AGE")
        )

    def on_mount(self) -> None:
        self.watch(self.app, "project", lambda _: self._show(), init=False)
        self.watch(self.app, "runs", lambda _: self._show(), init=False)
        self._show()

    def _show(self) -> None:
        info = self.ame.project
        summary = self.query_one("#tasks-summary", Static)
        if info is None:
            summary.update("reading ame.yml …")
            return
        last: dict[str, Any] = {}
        for record in self.ame.runs:  # newest first
            last.setdefault(record.task, record)
        from ame_tui.screens.base import now

        clock = now(self.app)
        rows = []
        for task in info.tasks:
            record = last.get(task.name)
            trigger = task.schedule + (f" ({task.schedule_text})" if task.schedule_text else "")
            command = Text(task.error, style="red") if task.error else task.command
            rows.append(
                (
                    task.name,
                    (
                        Text(task.name, style="bold"),
                        task.executor,
                        command,
                        resources_text(task.resources),
                        trigger or "—",
                        styled_status(record.status.value) if record else Text("never", "grey50"),
                        age(clock - record.created_at) if record else "",
                    ),
                )
            )
        sync_rows(self.query_one(DataTable), rows)
        summary.update(f" {len(info.tasks)} tasks in {info.path.name if info.path else '?'}")

    def action_run_task(self) -> None:
        name = selected_key(self.query_one(DataTable))
        if name:
            self.ame.launch("run", f"run {name}", task=name)

    def action_open_last(self) -> None:
        name = selected_key(self.query_one(DataTable))
        record = next((r for r in self.ame.runs if r.task == name), None)
        if record is not None:
            self.ame.open_run(record.id)
        elif name:
            self.notify(f"{name} has not run yet: r runs it")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_last()
