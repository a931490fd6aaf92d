"""Checks of where a project file is, not what it says (the same for `ame lint` and the
language server): both ame.yml and ame.yaml in one directory (AME402)."""

from __future__ import annotations

from pathlib import Path

from ame_core.diagnostics import Diagnostic, Range, Severity
from ame_core.project_files import PROJECT_FILE_NAMES


def place_diagnostics(path: Path) -> list[Diagnostic]:
    if path.name not in PROJECT_FILE_NAMES:
        return []
    other = path.with_name("ame.yaml" if path.name == "ame.yml" else "ame.yml")
    if not other.exists():
        return []
    return [
        Diagnostic(
            "AME402",
            Severity.ERROR,
            f"both {path.name} and {other.name} exist here: AME reads one project "
            "file per directory; merge them and delete one",
            Range(0, 0, 0, 0),
        )
    ]
