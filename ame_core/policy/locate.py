"""From a JSON path in the resolved view (`ame show --resolved`) back to the source text.

A resolved task's values come from the task itself, a template it starts from, or a task a
`taskRef` names (`Resolver` records each value's origin). A value is reported where it is
written; when that is not the place that uses it (a template, a referenced task), the place
that uses it is named too, so the user sees both ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ame_core.resolve import Origin, ResolvedTask, ResolveError, Resolver
from ame_core.spec.models import Project

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Place:
    """Where a resolved value is written (`path`, in this file) and what it belongs to."""

    path: Path
    subject: str  # "task 'train'" or "model 'logreg' validation task 'check'"
    user: tuple[Path, str] | None = None  # (path, words) of the place that uses the value
    source: str | None = None  # "template 'small_cpu'" when it came from elsewhere


def locate(view_path: Path, project: Project, resolver: Resolver, view: Any) -> Place:
    head, rest = (view_path[0], view_path[1:]) if view_path else ("", ())
    try:
        if head == "tasks" and rest and isinstance(rest[0], int):
            task = project.task_list()[rest[0]]
            resolved = resolver.resolve_task(task)
            return _in_task(resolved, rest[1:], task.source_path, f"task '{resolved.name}'", view)
        if head == "models" and rest and isinstance(rest[0], int):
            model = project.model_list()[rest[0]]
            subject = f"model '{model.name}'"
            inner = rest[1:]
            slot = None
            if inner[:2] in (("training", "task"), ("validation", "task")):
                slot = getattr(model, str(inner[0]))
            elif inner[:2] == ("monitoring", "task"):
                slot = model.monitoring
            if slot is not None and slot.task is not None:
                resolved = resolver.resolve_task(slot.task)
                words = f"{subject} {inner[0]} task '{resolved.name}'"
                return _in_task(resolved, inner[2:], slot.task.source_path, words, view)
            return Place((*model.source_path, *inner), subject)
        if head == "dataSets" and rest and isinstance(rest[0], int):
            data_set = project.data_set_list()[rest[0]]
            subject = f"data set '{data_set.name}'"
            inner = rest[1:]
            if inner[:1] == ("task",) and data_set.task is not None:
                resolved = resolver.resolve_task(data_set.task)
                words = f"{subject} task '{resolved.name}'"
                return _in_task(resolved, inner[1:], data_set.task.source_path, words, view)
            return Place((*data_set.source_path, *inner), subject)
    except (IndexError, ResolveError):
        pass
    return Place(view_path, "project")


def _in_task(resolved: ResolvedTask, rest: Path, use: Path, subject: str, view: Any) -> Place:
    """The place of `rest` inside a resolved task used at `use`."""
    origins = resolved.origins
    if rest[:1] == ("pipeline",) and len(rest) > 1:
        step: Any = resolved.steps
        at = 1
        while isinstance(step, list) and at < len(rest) and isinstance(rest[at], int):
            step = step[rest[at]] if rest[at] < len(step) else None
            at += 1
        pipeline = origins.get("pipeline")
        if isinstance(step, ResolvedTask) and pipeline is not None:
            step_use = (*pipeline.path, *rest[:at])
            return _in_task(step, rest[at:], step_use, f"pipeline step '{step.name}'", view)
    own = resolved.source_path
    if not rest:
        return _with_user(Place(own, subject), use, subject, own)
    key = rest[0]
    origin: Origin | None = None
    tail: Path = rest
    if key in ("resources", "secrets") and len(rest) > 1:
        origin = origins.get(f"{key}.{rest[1]}")
        if key == "secrets":
            tail = (key,)
    elif key == "environment" and len(rest) > 1 and isinstance(rest[1], int):
        envs = resolved.task.environment or []
        if rest[1] < len(envs):
            origin = origins.get(f"environment.{envs[rest[1]].key}")
            if origin is not None:
                tail = (key, _env_index(view, origin.path, envs[rest[1]].key), *rest[2:])
    else:
        origin = origins.get(str(key)) or origins.get(_snake(str(key)))
    if origin is None:
        return _with_user(Place((*own, *rest), subject), use, subject, own)
    if origin.project != resolved.project and origin.kind == "template":
        # Written in another project's file: point at the `fromTemplate` that brings it in.
        return _with_user(
            Place((*own, "fromTemplate"), subject, None, f"template '{origin}'"), use, subject, own
        )
    source = f"template '{origin.name}'" if origin.kind == "template" else None
    if origin.kind == "task" and origin.path != use:
        source = f"task '{origin.name}'"
    return _with_user(Place((*origin.path, *tail), subject, None, source), use, subject, own)


def _with_user(place: Place, use: Path, subject: str, own: Path) -> Place:
    """Name the place that uses the value when the value is written elsewhere."""
    if place.source is None and use == own:
        return place
    if place.path[: len(use)] == use and place.source is None:
        return place
    return Place(place.path, place.subject, (use, subject), place.source)


def _env_index(view: Any, owner: Path, key: str) -> int:
    """The index of `key` in the `environment` list of the object at `owner` (file view)."""
    node = view
    for step in (*owner, "environment"):
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return 0
    for i, item in enumerate(node if isinstance(node, list) else []):
        if isinstance(item, dict) and item.get("key") == key:
            return i
    return 0


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
