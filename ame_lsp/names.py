"""Names to offer and look up: this file's objects and those of the other workspace projects."""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING

from ame_lsp.facts import Facts, build_facts
from ame_lsp.workspace_index import path_to_uri
from ame_lsp.yaml_text import is_valid_name, name_on_line

if TYPE_CHECKING:
    from ame_core.engine import Analysis
    from ame_lsp.language_server import AmeLanguageServer

_SECTION = re.compile(r"^(tasks|templates|models|dataSets)\s*:")
_ROOT_KEY = re.compile(r"^[^\s#-]")
SECTION_KIND = {"tasks": "task", "templates": "template", "models": "model", "dataSets": "data set"}


# The facts of each analysis, kept as long as the analysis is (beside it, not on it).
_FACTS: weakref.WeakKeyDictionary[Analysis, Facts] = weakref.WeakKeyDictionary()


def facts_of(analysis: Analysis) -> Facts:
    cached = _FACTS.get(analysis)
    if cached is None:
        cached = _FACTS[analysis] = build_facts(analysis)
    return cached


def scan_names(text: str) -> dict[str, list[str]]:
    """Names by kind from the text alone (the document may be mid-edit and not parse)."""
    out: dict[str, list[str]] = {kind: [] for kind in SECTION_KIND.values()}
    kind: str | None = None
    item_key_col: int | None = None
    for line in text.split("\n"):
        if _ROOT_KEY.match(line):
            section = _SECTION.match(line)
            kind = SECTION_KIND[section.group(1)] if section else None
            item_key_col = None
            continue
        if kind is None:
            continue
        found = name_on_line(line, flow=True)
        if found is None or not is_valid_name(found[1]):
            continue
        key_col, name = found
        if item_key_col is None:
            item_key_col = key_col
        if key_col == item_key_col and name not in out[kind]:
            out[kind].append(name)
    return out


def local_names(server: AmeLanguageServer, uri: str, kind: str) -> list[str]:
    text = server.text(uri) or ""
    cache = server.name_scan
    if cache is None or cache[0] is not text:
        cache = server.name_scan = (text, scan_names(text))
    return cache[1].get(kind, [])


def other_projects(server: AmeLanguageServer, uri: str) -> list[tuple[str, str]]:
    """(project name, path) of the other workspace files."""
    here = server.path_of(uri)
    own = server.index.project_name(here) if server.index.text(here) is not None else None
    out = []
    for path in server.index.paths():
        if path == here:
            continue
        name = server.index.project_name(path)
        if name and name != own:
            out.append((name, path))
    return out


def qualified_names(server: AmeLanguageServer, uri: str, kind: str) -> list[tuple[str, str]]:
    """(`project.name`, project) for objects of `kind` in the other workspace projects."""
    attr = {"task": "tasks", "template": "templates", "data set": "data_sets", "model": "models"}[
        kind
    ]
    out = []
    for project, path in other_projects(server, uri):
        index = server.index.index(path)
        if index is None:
            continue
        out.extend((f"{project}.{name}", project) for name in getattr(index, attr))
    return out


def workspace_facts(server: AmeLanguageServer) -> list[tuple[str, str, Facts]]:
    """(path, uri, facts) of every project file in the workspace (open ones as edited)."""
    out = []
    for path in server.index.paths():
        analysis = server.index.analysis(path)
        if analysis is None:
            continue
        doc = server.index.open.get(path)
        out.append((path, doc.uri if doc else path_to_uri(path), facts_of(analysis)))
    return out
