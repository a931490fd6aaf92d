"""`ame schedule run`: start cron-triggered tasks (and models' monitoring) while it runs.

Each firing is a flow (kind `task`, or `monitor` for a model's monitoring), driven by its own
driver like every flow: the scheduler only decides when, so stopping it never cuts a firing short.
The clock and the sleep are injectable, so tests drive minutes without waiting for them.
Each minute is considered once; a task is started when its schedule matches that minute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ame_core.runtime.backend import Backend


def monitored_models(project: Any) -> list[tuple[str, str]]:
    """(model, cron expression) of the project's models with `monitoring.schedule`."""
    return [
        (model.name, model.monitoring.schedule)
        for model in project.model_list()
        if model.monitoring and model.monitoring.schedule
    ]


class Scheduler:
    def __init__(
        self,
        loaded: Any,  # ame_core.runtime.loading.LoadedProject
        backend: Backend,
        origin: dict[str, Any],
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        import time

        self.loaded = loaded
        self.backend = backend
        # Where the flows' drivers work (project_dir, tracking_uri, context, namespace).
        self.origin = origin
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.sleep = sleep or time.sleep
        self.log = log
        self._last_minute: datetime | None = None
        self.started: list[tuple[str, str]] = []  # (what, flow id)

    def scheduled_tasks(self) -> list[tuple[str, str]]:
        out = []
        for name, task in (self.loaded.analysis.index.tasks or {}).items():
            if task.triggers and task.triggers.schedule:
                out.append((name, task.triggers.schedule))
        return out

    def monitored_models(self) -> list[tuple[str, str]]:
        return monitored_models(self.loaded.project)

    def describe(self) -> list[str]:
        from ame_core.cron import describe_cron

        lines = [f"task {n}: {describe_cron(s)} ({s})" for n, s in self.scheduled_tasks()]
        lines += [
            f"monitoring of model {n}: {describe_cron(s)} ({s})" for n, s in self.monitored_models()
        ]
        return lines

    def tick(self) -> list[str]:
        """Start what is due in the current minute (once per minute); returns flow ids."""
        from ame_core.cron import parse_cron

        now = self.clock().replace(second=0, microsecond=0)
        if self._last_minute is not None and now <= self._last_minute:
            return []
        self._last_minute = now
        ids = []
        for name, expr in self.scheduled_tasks():
            if parse_cron(expr).matches(now):
                flow_id = self._fire("task", f"task {name}", expr, now, task=name)
                if flow_id:
                    ids.append(flow_id)
        for model, expr in self.monitored_models():
            if parse_cron(expr).matches(now):
                label = f"monitoring of model {model}"
                flow_id = self._fire("monitor", label, expr, now, model=model)
                if flow_id:
                    ids.append(flow_id)
        return ids

    def _fire(
        self,
        kind: str,
        label: str,
        expr: str,
        now: datetime,
        *,
        task: str | None = None,
        model: str | None = None,
    ) -> str | None:
        from ame_core.flows import control

        stamp = f"{now:%Y-%m-%d %H:%M}"
        try:
            record = control.start(
                self.backend.flow_store(),
                kind,
                self.loaded.name,
                self.backend.name,
                model=model,
                task=task,
                params={"scheduled": stamp, "schedule": expr},
                origin=self.origin,
            )
        except Exception as exc:  # noqa: BLE001 - one firing that cannot start must not stop the scheduler
            self.log(f"{stamp} could not start {label}: {exc}")
            return None
        self.log(f"{stamp} started {label} ({expr}) as flow {record.id}")
        self.started.append((f"monitor:{model}" if model else str(task), record.id))
        return record.id

    def run(self, max_ticks: int | None = None) -> None:
        ticks = 0
        while max_ticks is None or ticks < max_ticks:
            self.tick()
            ticks += 1
            now = self.clock()
            following = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            if max_ticks is None or ticks < max_ticks:
                self.sleep(max(0.5, (following - now).total_seconds()))
