"""Incremental re-checking: after an edit inside one list item (a task, a model, a data set),
re-check only that item, in a copy of the file that keeps everything it depends on at its
original lines, and keep the other items' diagnostics (shifted by the lines the edit added).

This is an optimisation with a strict guard, never a second engine: every check is still
`ame_core.engine.analyze`. The fast path is taken only when the edit cannot change what any
other item sees: the item keeps its name, it is not a template, the file has no anchors, aliases
or merge keys, and no name it needs is ambiguous. A name that is not there is reported with the
"did you mean" of the whole file's names, kept from its last full check. Anything else gets the
full analysis.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ame_core.diagnostics import MAX_DIAGNOSTICS, Diagnostic, Fix, Range, TextEdit
from ame_core.engine import Analysis, analyze
from ame_core.resolve import ProjectIndex, Workspace
from ame_lsp.yaml_text import name_on_line, project_line_name

LIST_SECTIONS = {
    "tasks": "task",
    "templates": "template",
    "models": "model",
    "dataSets": "data set",
}
_ROOT_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(#.*)?$")
_ROOT_SCALAR = re.compile(r"^[A-Za-z_][\w-]*\s*:")
_REF = re.compile(r"\b(taskRef|fromTemplate|dataSet)\s*:(.*)$")
_DATA_SETS_KEY = re.compile(r"^\s*(?:-\s+)?dataSets\s*:")
_ITEM = re.compile(r"^(\s*)-\s+['\"]?([^'\"\s#:{\[]+)['\"]?\s*(#.*)?$")
_ANCHOR_OR_ALIAS = re.compile(r"[&*][A-Za-z0-9_-]")
_MERGE_KEY = re.compile(r"<<\s*:")
_DOCUMENT_MARKER = re.compile(r"^(?:---|\.\.\.)", re.MULTILINE)
# Diagnostics whose text names lines elsewhere, or that compare items with each other.
# Syntax-level problems stop the parse of the whole file: the other items' checks then depend on
# them, so any of these (before or after the edit) means a full check.
_GLOBAL_CODES = {
    "AME001",
    "AME002",
    "AME003",
    "AME004",
    "AME005",
    "AME006",
    "AME007",
    "AME008",
    "AME009",
    "AME202",
}


@dataclass(frozen=True)
class Chunk:
    section: str
    start: int  # first line
    end: int  # one past the last line
    name: str | None
    names: frozenset[str]  # every `name:` in the item (inline tasks too)
    refs: tuple[tuple[str, str], ...]  # (key, value) of every reference written in the item
    complex_refs: bool  # a reference in map spelling: not tracked here


@dataclass
class Layout:
    lines: list[str]
    chunks: list[Chunk]
    other: list[int]  # lines outside any list item (root keys, scalars, comments)


def layout(lines: list[str]) -> Layout | None:
    """Split a block-style file into root lines and list items; None if it is not that simple."""
    chunks: list[Chunk] = []
    other: list[int] = []
    section: str | None = None
    item_col: int | None = None
    start: int | None = None

    def close(end: int) -> None:
        nonlocal start
        if start is not None and section is not None:
            chunks.append(_chunk(lines, section, start, end))
        start = None

    for i, line in enumerate(lines):
        first = line[:1]
        if first and first not in " #":
            close(i)
            match = _ROOT_KEY.match(line)
            if match and match.group(1) in LIST_SECTIONS:
                section, item_col = match.group(1), None
            elif _ROOT_SCALAR.match(line):
                section = None
                if line.rstrip().endswith(":"):
                    return None  # a nested mapping at the root that is not a list section
            else:
                return None
            other.append(i)
            continue
        if section is None:
            if line.strip() and not line.lstrip().startswith("#"):
                return None
            other.append(i)
            continue
        stripped = line.lstrip(" ")
        if stripped.startswith("- ") or stripped == "-":
            col = len(line) - len(stripped)
            if item_col is None:
                item_col = col
            if col == item_col:
                close(i)
                start = i
                continue
        if start is None:
            if line.strip() and not line.lstrip().startswith("#"):
                return None
            other.append(i)
    close(len(lines))
    return Layout(lines, chunks, other)


def _chunk(lines: list[str], section: str, start: int, end: int) -> Chunk:
    name = None
    names: set[str] = set()
    refs: list[tuple[str, str]] = []
    complex_refs = False
    key_col = None
    in_data_sets: int | None = None
    for i in range(start, end):
        line = lines[i]
        # Cheap substring tests first: this runs over every line after each full check.
        found = name_on_line(line)
        if found is not None:
            col, found_name = found
            names.add(found_name)
            if key_col is None:
                key_col = col
            if col == key_col and i == start or (name is None and col == key_col):
                name = found_name
        has_data_sets = "dataSet" in line
        if has_data_sets or "Ref" in line or "Template" in line:
            ref = _REF.search(line)
            if ref:
                value = ref.group(2).split("#")[0].strip().strip("'\"")
                if not value or value.startswith(("{", "[")):
                    complex_refs = True
                refs.append((ref.group(1), value))
        if in_data_sets is not None:
            stripped = line.strip()
            indent = len(line) - len(line.lstrip(" "))
            if stripped and indent <= in_data_sets and not stripped.startswith("- "):
                in_data_sets = None
            elif stripped.startswith("- "):
                item = _ITEM.match(line)
                if item is None:
                    complex_refs = True
                else:
                    refs.append(("dataSets", item.group(2)))
        if has_data_sets and _DATA_SETS_KEY.match(line):
            after = line.split(":", 1)[1].split("#")[0].strip()
            if after:
                complex_refs = True
            indent = len(line) - len(line.lstrip(" "))
            in_data_sets = indent if not line.lstrip().startswith("- ") else indent + 2
    return Chunk(section, start, end, name, frozenset(names), tuple(refs), complex_refs)


def _unsafe(text: str) -> bool:
    """Anchors, aliases, merge keys, tabs or document markers: what the layout cannot follow.
    Substring tests first; one regex over the whole text would cost 13 ms on 13,000 lines."""
    if "\t" in text:
        return True
    if "<<" in text and _MERGE_KEY.search(text):
        return True
    if ("---" in text or "..." in text) and _DOCUMENT_MARKER.search(text):
        return True
    if "&" in text or "*" in text:
        for match in _ANCHOR_OR_ALIAS.finditer(text):
            at = match.start()
            if at == 0 or text[at - 1] in " \t\n\r\f\v[{,":
                return True
    return False


def _project_name(lines: list[str], root_lines: list[int]) -> str | None:
    for i in root_lines:
        if lines[i].startswith(("project", "name")):
            name = project_line_name(lines[i])
            if name is not None:
                return name
    return None


def _shift(diagnostic: Diagnostic, delta: int) -> Diagnostic:
    def move(r: Range) -> Range:
        return Range(r.start_line + delta, r.start_col, r.end_line + delta, r.end_col)

    fixes = tuple(
        Fix(f.title, tuple(TextEdit(move(e.range), e.new_text) for e in f.edits), f.preferred)
        for f in diagnostic.fixes
    )
    return replace(diagnostic, range=move(diagnostic.range), fixes=fixes)


@dataclass
class Previous:
    text: str
    layout: Layout
    diagnostics: list[Diagnostic]
    # The whole file's names by kind (from its last full analysis; the fast path never changes
    # a name), so an unknown name in a partial check gets the full check's "did you mean".
    names: dict[str, tuple[str, ...]]


def previous_state(analysis: Analysis) -> Previous | None:
    """What the fast path needs to know about a fully checked text."""
    text, diagnostics = analysis.text, analysis.diagnostics
    if analysis.index is None:
        return None  # no project (a syntax error): the next edit needs the full check
    if _unsafe(text) or any(d.code in _GLOBAL_CODES for d in diagnostics):
        return None  # the fast path would refuse anyway: skip the layout
    found = layout(text.split("\n"))
    if found is None or not _names_agree(found.chunks, analysis.index):
        return None
    return Previous(text, found, diagnostics, analysis.index.name_lists())


def _names_agree(chunks: Iterable[Chunk], index: ProjectIndex) -> bool:
    """Whether the names read from the text are the objects the index holds, kind by kind and
    in order. They differ where YAML reads a name otherwise (`name: !x`, `name: a b`) or where
    an item is invalid and so not in the index: then what an edit changes cannot be told
    from the text, and the full check answers."""
    by_section: dict[str, list[str]] = {section: [] for section in LIST_SECTIONS}
    for chunk in chunks:
        if chunk.name:
            by_section[chunk.section].append(chunk.name)
    return all(
        list(dict.fromkeys(names)) == index.defined_names(section)
        for section, names in by_section.items()
    )


def relayout(
    old: Layout, lines: list[str], top: int, old_end: int, new_end: int
) -> tuple[Layout, int] | None:
    """The layout after lines [top, old_end) became [top, new_end), re-reading only the item
    that holds them; None if the edit is not inside one item or changes the file's shape."""
    chunks = old.chunks
    lo, hi = 0, len(chunks)
    while lo < hi:  # the last item starting at or before `top`
        mid = (lo + hi) // 2
        if chunks[mid].start <= top:
            lo = mid + 1
        else:
            hi = mid
    index = lo - 1
    if index < 0:
        return None
    before = chunks[index]
    if old_end > before.end or top >= before.end or before.start >= len(lines):
        return None
    delta = new_end - old_end
    first = lines[before.start]
    stripped = first.lstrip(" ")
    item_col = len(first) - len(stripped)
    old_first = old.lines[before.start]
    if (
        not (stripped.startswith("- ") or stripped == "-")
        or len(old_first) - len(old_first.lstrip(" ")) != item_col
    ):
        return None
    for i in range(max(top, before.start + 1), new_end):
        line = lines[i]
        head = line[:1]
        if head and head not in " #":
            return None  # a new root key
        rest = line.lstrip(" ")
        if (rest.startswith("- ") or rest == "-") and len(line) - len(rest) <= item_col:
            return None  # a new item
    changed = _chunk(lines, before.section, before.start, before.end + delta)
    new_chunks = chunks[:index] + [changed]
    if delta:
        new_chunks += [
            replace(c, start=c.start + delta, end=c.end + delta) for c in chunks[index + 1 :]
        ]
        other = [i if i < top else i + delta for i in old.other]
    else:
        new_chunks += chunks[index + 1 :]
        other = old.other
    return Layout(lines, new_chunks, other), index


LAST_REASON: list[str] = [""]


def _no(reason: str) -> None:
    """Why the fast path was not taken (for the benchmark and debugging)."""
    LAST_REASON[0] = reason
    return None


def recheck(
    previous: Previous | None, text: str, path: str | None, workspace: Workspace
) -> tuple[list[Diagnostic], Previous] | None:
    """The new diagnostics by re-checking one item, or None when the full check is needed."""
    if previous is None:
        return _no("no previous full check")
    if any(d.code in _GLOBAL_CODES for d in previous.diagnostics):
        return _no("global codes")
    lines = text.split("\n")
    old_lines = previous.layout.lines
    # The changed lines, from both ends.
    top = 0
    limit = min(len(lines), len(old_lines))
    while top < limit and lines[top] == old_lines[top]:
        top += 1
    if top == len(lines) == len(old_lines):
        return list(previous.diagnostics), replace(previous, text=text)
    bottom = 0
    while bottom < limit - top and lines[-1 - bottom] == old_lines[-1 - bottom]:
        bottom += 1
    new_end, old_end = len(lines) - bottom, len(old_lines) - bottom
    if _unsafe("\n".join(lines[top:new_end])):
        return _no("unsafe edit")
    found = relayout(previous.layout, lines, top, old_end, new_end)
    if found is None:
        return _no("not inside one item")
    new, index = found
    delta = new_end - old_end
    changed, before = new.chunks[index], previous.layout.chunks[index]
    renamed = changed.name != before.name
    if renamed:
        # A rename changes which references resolve and what "did you mean" offers: every item
        # that names the old or the new name, or names something unknown, is re-checked too.
        if changed.section == "models" or not (before.name and changed.name):
            return _no("model rename or a name added or removed")
        if changed.names - {changed.name} != before.names - {before.name}:
            return _no("inline names")
    elif changed.names != before.names:
        return _no("inline names")
    refs_changed = changed.refs != before.refs or changed.complex_refs != before.complex_refs
    if (refs_changed or renamed) and any(d.code == "AME207" for d in previous.diagnostics):
        return _no("cycles")
    if changed.complex_refs:
        return _no("complex refs")
    if (renamed or changed.section == "templates") and any(c.complex_refs for c in new.chunks):
        return _no("items that use it may be written in flow style")  # not followed here
    graph = _Graph(new.chunks, _project_name(lines, new.other))
    if changed.name and len(graph.named(changed.section, changed.name)) > 1:
        return _no("duplicate name")
    names = previous.names
    if renamed:
        kind_names = names.get(changed.section)
        if kind_names is None or before.name not in kind_names:
            return _no("rename of a name the index does not hold")
        renamed_names = tuple(changed.name if n == before.name else n for n in kind_names)
        names = {**names, changed.section: renamed_names}
    # The items whose diagnostics can change: the edited one, the items that use it through
    # templates (a template's fields are merged into them), and for a rename the items that
    # name the old or the new name or anything unknown.
    affected = {changed.start: changed}
    seeds = []
    if renamed:
        seeds += graph.referrers(changed.section, before.name)
        seeds += graph.referrers(changed.section, changed.name)
        seeds += graph.with_unknown_refs(changed.section)
    queue = [changed, *seeds]
    while queue:
        chunk = queue.pop()
        affected[chunk.start] = chunk
        if chunk.section == "templates" and chunk.name:
            queue += [
                c for c in graph.referrers("templates", chunk.name) if c.start not in affected
            ]
    # Everything the affected items need, by name; a possible cycle through the edited item (or
    # an ambiguous name) means the full check.
    needed = dict(affected)
    for origin in [changed, *(c for c in affected.values() if c is not changed)]:
        seen = {origin.start}  # per origin: a cycle back to the edited item must be seen
        queue = [origin]
        while queue:
            chunk = queue.pop()
            if chunk.complex_refs:
                return _no("complex refs (dep)")
            for target in graph.targets(chunk):
                if target is None:
                    return _no("ambiguous name")
                if origin is changed and target is changed and (refs_changed or renamed):
                    return _no("possible cycle")
                if target.start not in seen:
                    seen.add(target.start)
                    needed[target.start] = target
                    queue.append(target)
    keep = [""] * len(lines)
    for i in new.other:
        keep[i] = lines[i]
    for chunk in needed.values():
        keep[chunk.start : chunk.end] = lines[chunk.start : chunk.end]
    partial = analyze("\n".join(keep), path, workspace, whole_file_names=names)
    if partial.project is None or any(d.code in _GLOBAL_CODES for d in partial.diagnostics):
        return _no("syntax error in the edited item")
    if partial.index is None or not _names_agree(
        sorted(needed.values(), key=lambda c: c.start), partial.index
    ):
        return _no("names the text does not show (an invalid item, a tag)")
    new_starts = [c.start for c in new.chunks]
    old_starts = [c.start for c in previous.layout.chunks]
    affected_indexes = {bisect.bisect_left(new_starts, start) for start in affected}
    # A diagnostic belongs to the item it is on, or (a team policy's on a template's line) to
    # the item its related information names as the one that uses the value.
    inside = [
        d
        for d in partial.diagnostics
        if _chunk_index(new, new_starts, d.range.start_line) in affected_indexes
        or _related_to(d, new, new_starts, affected_indexes)
    ]
    kept = []
    for d in previous.diagnostics:
        line = d.range.start_line
        if _chunk_index(previous.layout, old_starts, line) in affected_indexes:
            continue
        if _related_to(d, previous.layout, old_starts, affected_indexes):  # same item order
            continue
        kept.append(_shift_after(d, delta, before.end) if delta else d)
    result = kept + inside
    if len(result) >= MAX_DIAGNOSTICS:
        return _no("too many diagnostics")
    result.sort(key=Diagnostic.sort_key)
    LAST_REASON[0] = "fast"
    return result, Previous(text, new, result, names)


def _related_to(d: Diagnostic, found: Layout, starts: list[int], indexes: set[int]) -> bool:
    return any(
        r.path is None and _chunk_index(found, starts, r.range.start_line) in indexes
        for r in d.related
    )


def _shift_after(diagnostic: Diagnostic, delta: int, end: int) -> Diagnostic:
    """A kept diagnostic after an edit that added `delta` lines before line `end`: what is at
    or after `end` moves (its related places each by where they are)."""
    moved = _shift(diagnostic, delta) if diagnostic.range.start_line >= end else diagnostic
    if not diagnostic.related:
        return moved
    related = tuple(
        replace(
            r,
            range=Range(
                r.range.start_line + delta,
                r.range.start_col,
                r.range.end_line + delta,
                r.range.end_col,
            ),
        )
        if r.path is None and r.range.start_line >= end
        else r
        for r in diagnostic.related
    )
    return replace(moved, related=related)


def _chunk_index(found: Layout, starts: list[int], line: int) -> int | None:
    """The index of the item that holds a line, or None for a root line."""
    i = bisect.bisect_right(starts, line) - 1
    if i >= 0 and line < found.chunks[i].end:
        return i
    return None


_REF_SECTIONS = {"taskRef": "tasks", "fromTemplate": "templates", "dataSets": "dataSets"}


class _Graph:
    """Who names whom among a file's items, by the references written in them."""

    def __init__(self, chunks: list[Chunk], own_project: str | None) -> None:
        self.own_project = own_project
        self._by_name: dict[tuple[str, str], list[Chunk]] = {}
        self._referrers: dict[tuple[str, str], list[Chunk]] = {}
        self._local_refs: dict[int, list[tuple[str, str]]] = {}
        for chunk in chunks:
            if chunk.name:
                self._by_name.setdefault((chunk.section, chunk.name), []).append(chunk)
        for chunk in chunks:
            refs = self._local(chunk)
            self._local_refs[chunk.start] = refs
            for ref in refs:
                self._referrers.setdefault(ref, []).append(chunk)

    def _local(self, chunk: Chunk) -> list[tuple[str, str]]:
        """(section, name) of each reference into this file (another project's: the workspace
        answers those, as in the full check)."""
        out = []
        for key, value in chunk.refs:
            project, dot, local = value.rpartition(".")
            if dot and project and project != self.own_project:
                continue  # (`.name`, with no project before the dot, is this project's)
            out.append((_REF_SECTIONS.get(key, "dataSets"), local if dot else value))
        return out

    def named(self, section: str, name: str) -> list[Chunk]:
        return self._by_name.get((section, name), [])

    def referrers(self, section: str, name: str) -> list[Chunk]:
        return self._referrers.get((section, name), [])

    def with_unknown_refs(self, section: str) -> list[Chunk]:
        return [
            chunk
            for (kind, name), chunks in self._referrers.items()
            if kind == section and (kind, name) not in self._by_name
            for chunk in chunks
        ]

    def targets(self, chunk: Chunk) -> list[Chunk | None]:
        """The items a chunk names (None for an ambiguous name; unknown names are skipped)."""
        out: list[Chunk | None] = []
        for ref in self._local_refs[chunk.start]:
            found = self._by_name.get(ref, [])
            if len(found) > 1:
                out.append(None)
            elif found:
                out.append(found[0])
        return out
