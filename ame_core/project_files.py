"""Where project files are: the project file of a directory or of its nearest parent, every
project file below a folder. Plain file-system work, importable without the format's models
(`ame runs` and other quick looks need the project's folder, not its contents)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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


def read_project_text(path: Path) -> str:
    """The file's text, or a ProjectFileError with one line that says why not (the same words
    for `ame lint` and for the commands that run a project)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProjectFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ProjectFileError(f"{path}: is a directory") from None
    except OSError as exc:
        raise ProjectFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ProjectFileError(
            f"{path}:{line}:{column}: not UTF-8 (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None


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
