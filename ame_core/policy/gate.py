"""Flows refuse what a team policy forbids: `ame task run`, `ame model train|deploy` check the
same AME501 diagnostics as `ame lint`, on what they run, unless `--ignore-policy` is given
(recorded on the run as the MLflow tag `ame.policy.ignored=true`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ame_core.diagnostics import Diagnostic, Range, Severity

IGNORED_TAG = "ame.policy.ignored"
SourcePath = tuple[str | int, ...]


def has_policies(project_file: Path) -> bool:
    """Whether any policy applies to the project file (a few stat calls: no parsing)."""
    from ame_core.policy.loading import PolicySource
    from ame_core.project_files import git_root

    root = git_root(project_file.parent) or project_file.parent
    files, problems = PolicySource(root).files_for(str(project_file))
    return bool(files or problems)


def task_paths(resolved: Any) -> list[SourcePath]:
    """Where a resolved task is written in its file: itself, its templates, the tasks its
    `taskRef`s name, and the same for each pipeline step."""
    out: list[SourcePath] = [resolved.source_path]
    out += [o.path for o in resolved.origins.values() if o.project == resolved.project]

    def steps(items: Iterable[Any]) -> None:
        for step in items:
            if isinstance(step, list):
                steps(step)
            else:
                out.extend(task_paths(step))

    steps(resolved.steps)
    return out


def model_paths(model: Any, resolver: Any) -> list[SourcePath]:
    """A model and the tasks its training and validation run."""
    from ame_core.resolve import ResolveError

    out: list[SourcePath] = [model.source_path]
    for slot in (model.training, model.validation):
        if slot is not None and slot.task is not None:
            out.append(slot.task.source_path)
            try:
                out += task_paths(resolver.resolve_task(slot.task))
            except ResolveError:
                pass
    return out


def refusal(analysis: Any, paths: Iterable[SourcePath], what: str) -> str | None:
    """One line refusing to start `what` for the first policy error on these places, or None.
    A diagnostic counts when it is on one of them and, where it names the place that uses the
    value (a template's line), that place is one of them too."""
    doc = analysis.doc
    ranges = [_range(doc, p) for p in dict.fromkeys(paths)]
    ranges = [r for r in ranges if r is not None]
    hits: list[Diagnostic] = []
    for d in analysis.diagnostics:
        if d.code != "AME501" or d.severity != Severity.ERROR:
            continue
        if not any(_inside(d.range, r) for r in ranges):
            continue
        if d.related and not any(_inside(x.range, r) for x in d.related for r in ranges):
            continue
        hits.append(d)
    if not hits:
        return None
    first = hits[0]
    where = f"{analysis.path}:{first.range.start_line + 1}:{first.range.start_col + 1}"
    more = f" (and {len(hits) - 1} more; run `ame lint`)" if len(hits) > 1 else ""
    return (
        f"{where}: {first.message}{more}; a team policy forbids {what}: "
        "fix it, or pass --ignore-policy (recorded on the run)"
    )


def _range(doc: Any, path: SourcePath) -> Range | None:
    from ame_core.document import node_range

    node = doc.node_at(path)
    return node_range(node) if node is not None else None


def _inside(inner: Range, outer: Range) -> bool:
    return (outer.start_line, outer.start_col) <= (inner.start_line, inner.start_col) and (
        inner.end_line,
        inner.end_col,
    ) <= (outer.end_line, outer.end_col)
