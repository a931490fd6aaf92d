"""The project templates of `ame init`: the folders of `examples/`.

An installed package carries them as `ame_cli/examples/` (copied there by setup.py's build
step); a source checkout (and an editable install) reads the repository's `examples/`. This
module imports nothing of ame_core: setup.py loads it by path for `is_template_file`.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_TEMPLATE = "quickstart"
# What makes an example: the files at the top of its folder with these endings. What a run
# leaves there (`.ame/`, `mlflow.db`, `mlruns/`, `data/`) is not part of it.
_SUFFIXES = (".py", ".yml", ".yaml", ".txt", ".md", ".toml", ".cfg", ".json")
_NAMES = (".gitignore",)


def is_template_file(name: str) -> bool:
    return name in _NAMES or (not name.startswith(".") and name.endswith(_SUFFIXES))


def templates_root() -> Path | None:
    """The folder that holds the examples: the packaged copy, else the source tree's."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "examples", package.parent / "examples"):
        if candidate.is_dir():
            return candidate
    return None


def template_names() -> list[str]:
    root = templates_root()
    if root is None:
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "ame.yml").is_file())


def template_files(name: str) -> dict[str, bytes] | None:
    """The files of template `name` by file name; None when there is no such template."""
    root = templates_root()
    if root is None or name not in template_names():
        return None
    folder = root / name
    return {
        path.name: path.read_bytes()
        for path in sorted(folder.iterdir())
        if path.is_file() and is_template_file(path.name)
    }
