"""`ame scheduler`: start cron-triggered tasks (and models' monitoring) while it runs.

The clock and the sleep are injectable, so tests drive minutes without waiting for them.
Each minute is considered once; a task is started when its schedule matches that minute.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ame_core.runtime.backend import Backend, RunContext


class Scheduler:
    def __init__(
        self,
        loaded: Any,  # ame_core.runtime.loading.LoadedProject
        backend: Backend,
        tracking_uri: str,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        import time

        self.loaded = loaded
        self.backend = backend
        self.tracking_uri = tracking_uri
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.sleep = sleep or time.sleep
        self.log = log
        self._last_minute: datetime | None = None
        self.started: list[tuple[str, str]] = []  # (what, run id or note)
        self.threads: list[threading.Thread] = []

    def scheduled_tasks(self) -> list[tuple[str, str]]:
        out = []
        for name, task in (self.loaded.analysis.index.tasks or {}).items():
            if task.triggers and task.triggers.schedule:
                out.append((name, task.triggers.schedule))
        return out

    def monitored_models(self) -> list[tuple[str, str]]:
        out = []
        for model in self.loaded.project.model_list():
            if model.monitoring and model.monitoring.schedule:
                out.append((model.name, model.monitoring.schedule))
        return out

    def describe(self) -> list[str]:
        from ame_core.cron import describe_cron

        lines = [f"task {n}: {describe_cron(s)} ({s})" for n, s in self.scheduled_tasks()]
        lines += [
            f"monitoring of model {n}: {describe_cron(s)} ({s})" for n, s in self.monitored_models()
        ]
        return lines

    def tick(self) -> list[str]:
        """Start what is due in the current minute (once per minute); returns run ids."""
        from ame_core.cron import parse_cron

        now = self.clock().replace(second=0, microsecond=0)
        if self._last_minute is not None and now <= self._last_minute:
            return []
        self._last_minute = now
        ids = []
        for name, expr in self.scheduled_tasks():
            if not parse_cron(expr).matches(now):
                continue
            try:
                resolved = self.loaded.resolve(name)
                record = self.backend.submit(
                    resolved,
                    RunContext(self.loaded.dir, self.loaded.name, self.tracking_uri),
                )
            except Exception as exc:  # one bad task must not stop the scheduler
                self.log(f"{now:%Y-%m-%d %H:%M} could not start task {name}: {exc}")
                continue
            self.log(f"{now:%Y-%m-%d %H:%M} started task {name} ({expr}) as run {record.id}")
            self.started.append((name, record.id))
            ids.append(record.id)
        for model, expr in self.monitored_models():
            if parse_cron(expr).matches(now):
                self._monitor(model, expr, now)
        return ids

    def _monitor(self, model: str, expr: str, now: datetime) -> None:
        """Run the model's monitoring through the lifecycle (it waits for the run, so in a
        thread: the scheduler goes on ticking)."""
        stamp = f"{now:%Y-%m-%d %H:%M}"
        try:
            from ame_core import lifecycle
        except ImportError:
            self.log(f"{stamp} monitoring of {model} skipped: no lifecycle module")
            return

        def work() -> None:
            try:
                if hasattr(lifecycle, "Lifecycle"):
                    project = lifecycle.load_project(self.loaded.dir)
                    flow = lifecycle.Lifecycle(project, self.backend, self.tracking_uri)
                    run = flow.run_monitoring(model)
                else:
                    hook = lifecycle.run_monitoring
                    offered = {
                        "model": model,
                        "model_name": model,
                        "backend": self.backend,
                        "tracking_uri": self.tracking_uri,
                        "project_dir": self.loaded.dir,
                    }
                    params = inspect.signature(hook).parameters
                    run = hook(**{k: v for k, v in offered.items() if k in params})
            except Exception as exc:  # one failed monitoring must not stop the scheduler
                self.log(f"{stamp} monitoring of {model} failed: {exc}")
                return
            run_id = getattr(run, "id", run)
            status = getattr(getattr(run, "status", None), "value", "")
            self.log(f"{stamp} monitoring of model {model} ({expr}): run {run_id} {status}")
            self.started.append((f"monitor:{model}", str(run_id)))

        self.log(f"{stamp} starting monitoring of model {model} ({expr})")
        thread = threading.Thread(target=work, name=f"monitor-{model}", daemon=True)
        thread.start()
        self.threads.append(thread)

    def run(self, max_ticks: int | None = None) -> None:
        ticks = 0
        while max_ticks is None or ticks < max_ticks:
            self.tick()
            ticks += 1
            now = self.clock()
            following = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            if max_ticks is None or ticks < max_ticks:
                self.sleep(max(0.5, (following - now).total_seconds()))
