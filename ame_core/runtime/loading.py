"""Loading the project a command works on, with one-line errors (no tracebacks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ame_core.errors import LifecycleError

if TYPE_CHECKING:
    from ame_core.resolve import ResolvedTask


class LoadError(Exception):
    """The project cannot be used as it is; one line for the user."""


@dataclass
class LoadedProject:
    """A project file, checked and indexed: what commands and the lifecycle work on."""

    file: Path
    dir: Path
    analysis: Any  # ame_core.engine.Analysis

    @property
    def project(self) -> Any:  # ame_core.spec.Project
        return self.analysis.project

    @property
    def name(self) -> str:
        return self.project.project

    @property
    def index(self) -> Any:
        return self.analysis.index

    @property
    def resolver(self) -> Any:
        return self.analysis.resolver

    def task_names(self) -> list[str]:
        return list(self.analysis.index.tasks) if self.analysis.index else []

    def resolve(self, name: str) -> ResolvedTask:
        from ame_core.resolve import ResolveError

        try:
            return self.analysis.resolver.resolve_by_name(name)
        except ResolveError as exc:
            raise LoadError(f"{self.file.name}: {exc}") from None

    def model(self, name: str) -> Any:
        """The model of that name; LifecycleError naming the close match and the known ones."""
        found = self.index.models.get(name)
        if found is None:
            import difflib

            known = sorted(self.index.models)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listing = f" (models: {', '.join(known)})" if known else " (it defines no models)"
            raise LifecycleError(f"{self.file.name} has no model {name!r}{hint}{listing}")
        return found


def load_project(project_dir: str | Path | None = None) -> LoadedProject:
    from ame_core.engine import analyze
    from ame_core.project_files import ProjectFileError, find_project_file, read_project_text
    from ame_core.workspace import workspace_for

    try:
        path = find_project_file(Path(project_dir) if project_dir else None)
        text = read_project_text(path)
    except ProjectFileError as exc:
        raise LoadError(str(exc)) from None
    analysis = analyze(text, str(path), workspace_for(path))
    # A team policy's errors (AME5xx) do not stop reading the project: the flows that start
    # something check them on what they start (ame_core.policy.gate).
    errors = [d for d in analysis.errors if not d.code.startswith("AME5")]
    if analysis.project is None or errors:
        first = errors[0] if errors else None
        where = (
            f"{path}:{first.range.start_line + 1}:{first.range.start_col + 1}: " if first else ""
        )
        detail = f"{where}{first.message}" if first else f"{path}: not a project file"
        more = f" (and {len(errors) - 1} more; run `ame lint`)" if len(errors) > 1 else ""
        raise LoadError(f"{detail}{more}")
    return LoadedProject(path, path.parent.resolve(), analysis)
