"""Plain-data views of a project (canonical spelling) for `ame show`, tools and the TUI."""

from __future__ import annotations

from typing import Any

from ame_core.engine import Analysis
from ame_core.resolve import ResolvedTask, ResolveError, Resolver
from ame_core.spec.models import AmeModel, Project, Task


def dump(obj: AmeModel) -> dict[str, Any]:
    """An object as written in the file, canonical keys, only what was set."""
    return obj.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


def project_view(project: Project) -> dict[str, Any]:
    return dump(project)


def resolved_task_view(resolved: ResolvedTask) -> dict[str, Any]:
    view = dump(resolved.task)
    view.pop("fromTemplate", None)
    view.pop("taskRef", None)
    view = {"name": resolved.name, **{k: v for k, v in view.items() if k != "name"}}
    if resolved.steps:
        view["pipeline"] = [_step_view(step) for step in resolved.steps]
    return view


def _step_view(step: Any) -> Any:
    if isinstance(step, list):
        return [_step_view(inner) for inner in step]
    return resolved_task_view(step)


def _resolve_or_error(resolver: Resolver, task: Task) -> dict[str, Any]:
    try:
        return resolved_task_view(resolver.resolve_task(task))
    except ResolveError as exc:
        return {"name": task.name, "error": str(exc)}


def resolved_view(analysis: Analysis) -> dict[str, Any]:
    """The project with templates merged and references inlined: exactly what will run."""
    project, resolver = analysis.project, analysis.resolver
    assert project is not None and resolver is not None
    view: dict[str, Any] = {"project": project.project}
    if project.tasks:
        view["tasks"] = [_resolve_or_error(resolver, task) for task in project.task_list()]
    if project.models:
        models = []
        for model in project.model_list():
            entry = dump(model)
            for slot in ("training", "validation"):
                section = getattr(model, slot)
                if section is not None and section.task is not None:
                    entry[slot] = {"task": _resolve_or_error(resolver, section.task)}
            if model.monitoring is not None and model.monitoring.task is not None:
                entry["monitoring"]["task"] = _resolve_or_error(resolver, model.monitoring.task)
            models.append(entry)
        view["models"] = models
    if project.data_sets:
        data_sets = []
        for data_set in project.data_set_list():
            entry = dump(data_set)
            if data_set.task is not None:
                entry["task"] = _resolve_or_error(resolver, data_set.task)
            data_sets.append(entry)
        view["dataSets"] = data_sets
    return view
