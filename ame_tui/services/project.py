"""The project file as the TUI shows it: tasks after template resolution, models, problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TaskRow:
    name: str
    executor: str = ""
    command: str = ""
    resources: dict[str, str] = field(default_factory=dict)
    schedule: str = ""
    schedule_text: str = ""
    steps: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class ModelRow:
    name: str
    training: str | None = None
    validation: str | None = None
    auto_deploy: bool = False
    replicas: int = 1


@dataclass
class Problem:
    severity: str
    line: int  # 1-based
    col: int
    code: str
    message: str


@dataclass
class ProjectInfo:
    name: str
    path: Path | None
    mtime: float = 0.0
    tasks: list[TaskRow] = field(default_factory=list)
    models: list[ModelRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    analysis: Any = None  # ame_core.engine.Analysis
    read_error: str | None = None

    @property
    def error_count(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")


_SEVERITY = {1: "error", 2: "warning", 3: "info", 4: "hint"}


def load_project(path: Path | None, fallback_name: str = "(no project)") -> ProjectInfo:
    """Read and analyze the project file with the same engine as `ame lint` and ame-lsp."""
    if path is None:
        return ProjectInfo(fallback_name, None, read_error="no ame.yml found")
    from ame_core.engine import analyze
    from ame_core.workspace import workspace_for

    try:
        mtime = path.stat().st_mtime
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return ProjectInfo(fallback_name, path, read_error=f"cannot read {path.name}: {exc}")
    analysis = analyze(text, str(path), workspace_for(path))
    problems = [
        Problem(
            _SEVERITY.get(int(d.severity), "info"),
            d.range.start_line + 1,
            d.range.start_col + 1,
            d.code,
            d.message,
        )
        for d in analysis.diagnostics
    ]
    project = analysis.project
    name = project.project if project is not None else path.parent.name
    info = ProjectInfo(name, path, mtime, problems=problems, analysis=analysis)
    if project is None or analysis.resolver is None or analysis.index is None:
        return info
    for task_name, task in analysis.index.tasks.items():
        info.tasks.append(_task_row(analysis.resolver, task_name, task))
    for model in analysis.index.models.values():
        info.models.append(_model_row(model))
    return info


def resolve_task(info: ProjectInfo, name: str):
    """The ResolvedTask for a task name (raises ResolveError or KeyError)."""
    analysis = info.analysis
    return analysis.resolver.resolve_task(analysis.index.tasks[name])


def resolve_model_task(info: ProjectInfo, model: str, slot: str):
    """The ResolvedTask of a model's `training` or `validation` task, or None."""
    spec = info.analysis.index.models[model]
    task_slot = getattr(spec, slot, None)
    task = getattr(task_slot, "task", None)
    if task is None:
        return None
    return info.analysis.resolver.resolve_task(task)


def _task_row(resolver: Any, name: str, task: Any) -> TaskRow:
    from ame_core.resolve import ResolveError

    row = TaskRow(name)
    try:
        resolved = resolver.resolve_task(task)
    except ResolveError as exc:
        row.error = str(exc)
        return row
    merged = resolved.task
    if resolved.is_pipeline:
        row.executor = "pipeline"
        row.steps = [_step_name(step) for step in resolved.steps]
        row.command = " → ".join(row.steps)
    elif merged.executor is not None:
        try:
            row.executor = merged.executor.kind
            row.command = getattr(merged.executor.variant, "command", None) or ""
        except ValueError:
            row.executor = "?"
    row.resources = {k: str(v) for k, v in (merged.resources or {}).items()}
    schedule = merged.triggers.schedule if merged.triggers else None
    if schedule:
        row.schedule = str(schedule)
        try:
            from ame_core.cron import describe_cron

            row.schedule_text = describe_cron(str(schedule))
        except Exception:  # noqa: BLE001 - the problems view reports bad cron
            row.schedule_text = ""
    return row


def _step_name(step: Any) -> str:
    if isinstance(step, list):
        return "[" + " | ".join(_step_name(s) for s in step) + "]"
    return step.name


def _model_row(model: Any) -> ModelRow:
    def task_name(slot: Any) -> str | None:
        task = getattr(slot, "task", None)
        if task is None:
            return None
        if task.task_ref is not None:
            ref = task.task_ref
            return ref if isinstance(ref, str) else getattr(ref, "name", str(ref))
        return task.name or "(inline)"

    deployment = model.deployment
    return ModelRow(
        model.name,
        task_name(model.training),
        task_name(model.validation),
        bool(deployment and deployment.auto_deploy),
        int(deployment.replicas or 1) if deployment else 1,
    )


def read_mtime(path: Path | None) -> float:
    try:
        return path.stat().st_mtime if path else 0.0
    except OSError:
        return 0.0
