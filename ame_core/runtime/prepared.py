"""A task ready to run, as plain JSON: what a run record and a supervisor need of it.

`prepare(resolved)` turns a ResolvedTask (pydantic models) into a PreparedTask; supervisors and
the run-record format only ever see the plain form, so they start without loading the models.
`cached(...)`/`remember(...)` keep prepared tasks under `.ame/cache/`, keyed by the project
file's bytes and the checker's own files: `ame task run` of an unchanged project skips reading
and checking the file again (a few hundred milliseconds). Only tasks whose every part comes from
the project file itself are kept (a reference into another project would need that file too).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE_VERSION = "1"


@dataclass
class PreparedTask:
    name: str
    project: str
    resources: dict[str, str] = field(default_factory=dict)
    run: dict[str, Any] | None = None  # executors.plain_task(...) for a task
    spec: dict[str, Any] | None = None  # the merged task in the file's spelling (for tools)
    steps: list[Any] = field(default_factory=list)  # PreparedTask | list[...] for pipelines
    is_pipeline: bool = False

    def to_json(self) -> dict[str, Any]:
        def step(s: Any) -> Any:
            return [step(x) for x in s] if isinstance(s, list) else s.to_json()

        return {
            "name": self.name,
            "project": self.project,
            "resources": self.resources,
            "run": self.run,
            "spec": self.spec,
            "steps": [step(s) for s in self.steps],
            "is_pipeline": self.is_pipeline,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreparedTask:
        def step(s: Any) -> Any:
            return [step(x) for x in s] if isinstance(s, list) else cls.from_json(s)

        return cls(
            name=data["name"],
            project=data["project"],
            resources=dict(data.get("resources") or {}),
            run=data.get("run"),
            spec=data.get("spec"),
            steps=[step(s) for s in data.get("steps") or []],
            is_pipeline=bool(data.get("is_pipeline")),
        )

    def leaves(self) -> list[PreparedTask]:
        """The tasks that actually run (pipelines and groups flattened)."""
        out: list[PreparedTask] = []

        def walk(s: Any) -> None:
            if isinstance(s, list):
                for x in s:
                    walk(x)
            elif s.is_pipeline:
                for x in s.steps:
                    walk(x)
            else:
                out.append(s)

        walk(self)
        return out


def prepare(task: Any) -> PreparedTask:
    """A ResolvedTask (or an already PreparedTask) in the plain form."""
    if isinstance(task, PreparedTask):
        return task
    from ame_core.runtime.executors import plain_task

    def step(s: Any) -> Any:
        return [step(x) for x in s] if isinstance(s, list) else prepare(s)

    if task.is_pipeline:
        return PreparedTask(
            task.name, task.project, steps=[step(s) for s in task.steps], is_pipeline=True
        )
    spec = task.task.model_dump(by_alias=True, exclude_none=True, mode="json")
    spec.pop("pipeline", None)
    return PreparedTask(
        name=task.name,
        project=task.project,
        resources={k: str(v) for k, v in (task.task.resources or {}).items()},
        run=plain_task(task),
        spec=spec,
    )


# --- the cache -------------------------------------------------------------------------------


def project_file_or_none(start: Path | None) -> Path | None:
    """ame.yml/ame.yaml in `start` or a parent (None when absent or ambiguous: the full
    loader then says what is wrong)."""
    from ame_core.project_files import ProjectFileError
    from ame_core.project_files import find_project_file as find

    try:
        return find(start)
    except ProjectFileError:
        return None


def _checker_stamp() -> bytes:
    """Changes whenever the code that checks and resolves project files changes."""
    import ame_core

    root = Path(ame_core.__file__).parent
    parts = [CACHE_VERSION, getattr(ame_core, "__version__", "")]
    for folder in (root, root / "spec"):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(".py"):
                parts.append(f"{entry.name}:{entry.stat().st_mtime_ns}:{entry.stat().st_size}")
    return "|".join(parts).encode()


def _key(text: bytes, name: str) -> str:
    digest = hashlib.sha256(_checker_stamp())
    digest.update(b"\0" + name.encode() + b"\0" + text)
    return digest.hexdigest()[:32]


def _cache_file(project_dir: Path, key: str) -> Path:
    return project_dir / ".ame" / "cache" / "tasks" / f"{key}.json"


def cached(project_dir: str | Path | None, name: str) -> tuple[Path, PreparedTask] | None:
    """(project folder, prepared task) for an unchanged project file, or None."""
    if os.environ.get("AME_NO_TASK_CACHE"):
        return None
    path = project_file_or_none(Path(project_dir) if project_dir else None)
    if path is None:
        return None
    try:
        data = json.loads(_cache_file(path.parent, _key(path.read_bytes(), name)).read_text())
        return path.parent, PreparedTask.from_json(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _all_local(task: Any, project: str) -> bool:
    if isinstance(task, list):
        return all(_all_local(s, project) for s in task)
    if task.project != project:
        return False
    if any(o.project != project for o in task.origins.values()):
        return False
    return all(_all_local(s, project) for s in task.steps)


def remember(project_file: Path, text: bytes, name: str, resolved: Any) -> None:
    """Keep a checked, resolved task for the next `ame task run` (best effort)."""
    if not _all_local(resolved, resolved.project):
        return
    from ame_core.runtime.records import atomic_write

    prepared = prepare(resolved)
    try:
        target = _cache_file(project_file.parent, _key(text, name))
        atomic_write(target, json.dumps(prepared.to_json()))
    except OSError:
        pass
