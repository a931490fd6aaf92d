"""The candidates for the word being completed: walks the argparse tree of `ame` along the
words typed so far, then offers sub-commands, options, choices, or names of the project (tasks
and models from ame.yml; run and flow ids from `.ame/`). Paths are left to the shell."""

from __future__ import annotations

import argparse
from pathlib import Path

from ame_cli.completion import DIRS, FILES
from ame_cli.parser import Parser

# Positional arguments whose values are names of the project, by their dest.
_RUN_DESTS = {"run", "runs", "run_id", "run_ids"}
_PATH_DESTS = {"path", "paths", "file", "input", "output"}
_DIR_DESTS = {"directory", "project", "workspace", "dir"}


class _Walk:
    """Where the typed words lead: the (sub)parser, the command path, how many positionals
    it has seen, an option still waiting for its value, and `--project` if given."""

    def __init__(self, parser: Parser) -> None:
        self.parser = parser
        self.path: list[str] = []
        self.positionals = 0
        self.expecting: argparse.Action | None = None
        self.project: str | None = None

    def feed(self, word: str) -> None:
        if self.expecting is not None:
            if self.expecting.dest == "project":
                self.project = word
            self.expecting = None
            return
        if word.startswith("-") and word != "-":
            name, has_value, value = word.partition("=")
            action = self.parser.options.get(name)
            if action is not None and action.nargs != 0:
                if has_value:
                    self.project = value if action.dest == "project" else self.project
                else:
                    self.expecting = action
            return
        sub = self.parser.subcommands()
        if word in sub:
            self.parser = sub[word]
            self.path.append(word)
            self.positionals = 0
            return
        self.positionals += 1


def _options(parser: Parser) -> list[str]:
    return [name for name, action in parser.options.items() if action.help != argparse.SUPPRESS]


def _positional(parser: Parser, index: int) -> argparse.Action | None:
    for action in parser.positionals:
        if action.nargs in ("*", "+", argparse.REMAINDER):
            return action
        if index == 0:
            return action
        index -= 1
    return None


def _value_candidates(action: argparse.Action) -> list[str]:
    if action.choices:
        return [str(c) for c in action.choices]
    metavar = str(action.metavar or "").upper()
    if action.dest in _DIR_DESTS or metavar == "DIR":
        return [DIRS]
    if action.dest in _PATH_DESTS or metavar in ("FILE", "PATH"):
        return [FILES]
    return []


def _project_dir(walk: _Walk) -> Path | None:
    from ame_core.project_files import ProjectFileError, find_project_file

    try:
        return find_project_file(Path(walk.project) if walk.project else None).parent
    except ProjectFileError:
        return None


def _project_names(walk: _Walk, kind: str) -> list[str]:
    """Task or model names of the project (none when it cannot be read: completion never
    complains)."""
    from ame_core.engine import index_text
    from ame_core.project_files import find_project_file

    folder = _project_dir(walk)
    if folder is None:
        return []
    try:
        index = index_text(find_project_file(folder).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []
    if index is None:
        return []
    return list(index.tasks if kind == "tasks" else index.models)


def _ids(walk: _Walk, kind: str) -> list[str]:
    """Run or flow ids of the project on this machine, newest first."""
    folder = _project_dir(walk)
    if folder is None:
        return []
    if kind == "runs":
        from ame_core.runtime.records import RecordStore

        return RecordStore(folder).ids()
    flows = folder / ".ame" / "flows"
    return sorted((p.stem for p in flows.glob("flow-*.json")), reverse=True)


def _names_for(walk: _Walk, action: argparse.Action) -> list[str]:
    dest = action.dest
    top = walk.path[0] if walk.path else ""
    if dest == "task" or (dest == "name" and top == "task"):
        return _project_names(walk, "tasks")
    if dest in ("name", "model") and top == "model":
        return _project_names(walk, "models")
    if dest in _RUN_DESTS:
        return _ids(walk, "runs")
    if dest == "flow":
        return _ids(walk, "flows")
    return _value_candidates(action)


def candidates(parser: Parser, before: list[str], current: str) -> list[str]:
    walk = _Walk(parser)
    for word in before:
        walk.feed(word)
    if walk.expecting is not None:
        found = _value_candidates(walk.expecting)
    elif current.startswith("-"):
        found = _options(walk.parser)
    else:
        if walk.parser.subcommands():
            found = walk.parser.listed_subcommands
        else:
            action = _positional(walk.parser, walk.positionals)
            found = _names_for(walk, action) if action is not None else []
    if found in ([FILES], [DIRS]):
        return found
    return [c for c in dict.fromkeys(found) if c.startswith(current)]
