"""Finding project files: the project of a directory, and the workspace of projects around it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ame_core.resolve import ProjectIndex, Workspace

PROJECT_FILE_NAMES = ("ame.yml", "ame.yaml")
# Folders that never hold a user's project files and can be huge.
_SKIP_DIRS = {
    ".git",
    ".hg",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".ame",
    ".tox",
    "mlruns",
}


class ProjectFileError(Exception):
    """No project file, or an ambiguous one; the message is for the user as it is."""


def is_project_file(path: str | os.PathLike[str]) -> bool:
    return Path(path).name in PROJECT_FILE_NAMES


def project_file_in(directory: Path) -> Path | None:
    """The project file of a directory; both spellings at once is an error."""
    found = [directory / name for name in PROJECT_FILE_NAMES if (directory / name).is_file()]
    if len(found) > 1:
        raise ProjectFileError(
            f"{directory}: both ame.yml and ame.yaml exist; keep one of them (AME402)"
        )
    return found[0] if found else None


def find_project_file(start: Path | None = None) -> Path:
    """The project file in `start` or the nearest parent that has one."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        found = project_file_in(directory)
        if found is not None:
            return found
    raise ProjectFileError(
        f"no ame.yml or ame.yaml in {here} or its parents (create one with `ame init`)"
    )


def git_root(start: Path) -> Path | None:
    here = start.resolve()
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return directory
    return None


def iter_project_files(root: Path) -> Iterator[Path]:
    """Every ame.yml/ame.yaml below root, skipping virtual environments and the like."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in PROJECT_FILE_NAMES:
            if name in filenames:
                yield Path(dirpath) / name


def ame_path_dirs() -> list[Path]:
    return [Path(p) for p in os.environ.get("AME_PATH", "").split(os.pathsep) if p]


class FileWorkspace(Workspace):
    """A workspace read from disk: the project files below some roots plus explicit files.

    Other projects are read only when a reference names them, and each file at most once.
    """

    def __init__(self, roots: Iterable[Path] = (), files: Iterable[Path] = ()) -> None:
        super().__init__(loader=self._load)
        self._roots = [Path(r) for r in roots]
        self._files = [Path(f) for f in files]
        self._by_name: dict[str, Path] | None = None

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


def workspace_for(
    project_file: Path, root: Path | None = None, extra: Iterable[Path] = ()
) -> FileWorkspace:
    """The workspace of a project file: `root` (or its git root, or its directory), AME_PATH,
    and any extra files named on the command line."""
    base = root or git_root(project_file.parent) or project_file.parent
    return FileWorkspace([base, *ame_path_dirs()], extra)
