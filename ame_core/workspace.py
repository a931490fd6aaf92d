"""The workspace of projects around a project file (for references to other projects); where
project files are is `project_files`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ame_core.policy.loading import PolicySource
from ame_core.project_files import ame_path_dirs, git_root, iter_project_files
from ame_core.resolve import ProjectIndex, Workspace


class FileWorkspace(Workspace):
    """A workspace read from disk: the project files below some roots plus explicit files.

    Other projects are read only when a reference names them, and each file at most once.
    """

    def __init__(self, roots: Iterable[Path] = (), files: Iterable[Path] = ()) -> None:
        super().__init__(loader=self._load)
        self._roots = [Path(r) for r in roots]
        self._files = [Path(f) for f in files]
        self._by_name: dict[str, Path] | None = None
        # `.ame-policy/` up to the first root (the workspace's), and AME_POLICY
        self.policies = PolicySource(self._roots[0] if self._roots else None, persist=True)

    def _scan(self) -> dict[str, Path]:
        from ame_core.engine import index_text

        if self._by_name is not None:
            return self._by_name
        self._by_name = {}
        candidates = list(self._files)
        for root in self._roots:
            if root.is_dir():
                candidates.extend(iter_project_files(root))
        seen: set[Path] = set()
        for path in candidates:
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            try:
                text = resolved.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            index = index_text(text, str(resolved))
            if index is not None and index.name not in self._by_name:
                self._by_name[index.name] = resolved
                self.add(index)
        return self._by_name

    def _load(self, project: str) -> ProjectIndex | None:
        self._scan()
        return self._known.get(project)

    def project_names(self) -> list[str]:
        self._scan()
        return super().project_names()

    def missing_hint(self) -> str:
        # Outside a git repository the workspace is the project's own folder: say so, and how
        # to point at the folder that holds the other project.
        looked = ", ".join(str(r) for r in self._roots) or "nowhere"
        return (
            f"; looked below {looked}: add the folder that holds it to AME_PATH "
            "(`ame lint` and `ame show` also take --workspace DIR)"
        )


def workspace_for(
    project_file: Path, root: Path | None = None, extra: Iterable[Path] = ()
) -> FileWorkspace:
    """The workspace of a project file: `root` (or its git root, or its directory), AME_PATH,
    and any extra files named on the command line."""
    base = root or git_root(project_file.parent) or project_file.parent
    return FileWorkspace([base, *ame_path_dirs()], extra)
