"""Incremental re-checking: after an edit inside one list item (a task, a model, a data set),
re-check only that item, in a copy of the file that keeps everything it depends on at its
original lines, and keep the other items' diagnostics (shifted by the lines the edit added).

This is an optimisation with a strict guard, never a second engine: every check is still
`ame_core.engine.analyze`. The fast path is taken only when the edit cannot change what any
other item sees: the item keeps its name and its references, it is not a template, the file has
no anchors/aliases/merge keys, and nothing it needs is missing or ambiguous. Anything else gets
the full analysis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ame_core.diagnostics import MAX_DIAGNOSTICS, Diagnostic, Fix, Range, TextEdit
from ame_core.engine import analyze
from ame_core.resolve import Workspace

LIST_SECTIONS = {
    "tasks": "task",
    "templates": "template",
    "models": "model",
    "dataSets": "data set",
}
_ROOT_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(#.*)?$")
_ROOT_SCALAR = re.compile(r"^[A-Za-z_][\w-]*\s*:")
_NAME = re.compile(r"^(\s*)(?:-\s+)?name\s*:\s*['\"]?([^'\"\s#]*)")
_REF = re.compile(r"\b(taskRef|fromTemplate|dataSet)\s*:(.*)$")
_STUB = re.compile(r"^\s*-\s+name\s*:\s*['\"]?[A-Za-z0-9][\w-]*['\"]?\s*(#.*)?$")
_ITEM = re.compile(r"^(\s*)-\s+['\"]?([^'\"\s#:{\[]+)['\"]?\s*(#.*)?$")
_UNSAFE = re.compile(r"(?:^|[\s\[{,])[&*][A-Za-z0-9_-]|<<\s*:|^(?:---|\.\.\.)|\t", re.MULTILINE)
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
        match = _NAME.match(line)
        if match:
            col = line.index("name", len(match.group(1)))
            names.add(match.group(2))
            if key_col is None:
                key_col = col
            if col == key_col and i == start or (name is None and col == key_col):
                name = match.group(2)
        ref = _REF.search(line)
        if ref:
            value = ref.group(2).split("#")[0].strip().strip("'\"")
            if not value or value.startswith(("{", "[")):
                complex_refs = True
            refs.append((ref.group(1), value))
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if in_data_sets is not None:
            if stripped and indent <= in_data_sets and not stripped.startswith("- "):
                in_data_sets = None
            elif stripped.startswith("- "):
                item = _ITEM.match(line)
                if item is None:
                    complex_refs = True
                else:
                    refs.append(("dataSets", item.group(2)))
        if re.match(r"^\s*(?:-\s+)?dataSets\s*:", line):
            after = line.split(":", 1)[1].split("#")[0].strip()
            if after:
                complex_refs = True
            in_data_sets = indent if not line.lstrip().startswith("- ") else indent + 2
    return Chunk(section, start, end, name, frozenset(names), tuple(refs), complex_refs)


def _interface(chunk: Chunk) -> tuple:
    return (chunk.section, chunk.name, chunk.names, chunk.refs, chunk.complex_refs)


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
    safe: bool = True  # no anchors, aliases, merge keys, tabs or document markers


def previous_state(text: str, diagnostics: list[Diagnostic]) -> Previous | None:
    """What the fast path needs to know about a fully checked text."""
    if _UNSAFE.search(text) is not None or any(d.code in _GLOBAL_CODES for d in diagnostics):
        return None  # the fast path would refuse anyway: skip the layout
    found = layout(text.split("\n"))
    if found is None:
        return None
    return Previous(text, found, diagnostics)


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
    if old_end > before.end or top >= before.end:
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


# What a one-line stand-in needs besides its name to be a complete item, so that a thousand of
# them raise no diagnostics of their own (which would hit the cap and force a full check).
_STAND_IN_FIELDS = {"tasks": ", executor: !custom {command: x}", "dataSets": ", path: x"}


def _stand_in(first_line: str, section: str) -> str:
    """`  - name: task_5` → `  - {name: task_5, executor: !custom {command: x}}`."""
    dash = first_line.index("-")
    body = first_line[dash + 1 :].split("#", 1)[0].strip()
    return f"{first_line[:dash]}- {{{body}{_STAND_IN_FIELDS.get(section, '')}}}"


def recheck(
    previous: Previous | None, text: str, path: str | None, workspace: Workspace
) -> tuple[list[Diagnostic], Previous] | None:
    """The new diagnostics by re-checking one item, or None when the full check is needed."""
    if previous is None or not previous.safe:
        return _no("not safe")
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
        return list(previous.diagnostics), Previous(text, previous.layout, previous.diagnostics)
    bottom = 0
    while bottom < limit - top and lines[-1 - bottom] == old_lines[-1 - bottom]:
        bottom += 1
    new_end, old_end = len(lines) - bottom, len(old_lines) - bottom
    if _UNSAFE.search("\n".join(lines[top:new_end])):
        return _no("unsafe edit")
    found = relayout(previous.layout, lines, top, old_end, new_end)
    if found is None:
        return _no("not inside one item")
    new, index = found
    delta = new_end - old_end
    changed, before = new.chunks[index], previous.layout.chunks[index]
    if changed.section == "templates" or _interface(changed)[:3] != _interface(before)[:3]:
        return _no("template or name")
    refs_changed = _interface(changed) != _interface(before)
    if refs_changed and any(d.code == "AME207" for d in previous.diagnostics):
        return _no("cycles")
    if changed.complex_refs:
        return _no("complex refs")
    # Everything the item needs, by name, in this file; unknown or ambiguous names → full check.
    by_kind: dict[tuple[str, str], list[Chunk]] = {}
    for chunk in new.chunks:
        if chunk.name:
            by_kind.setdefault((chunk.section, chunk.name), []).append(chunk)
    if changed.name and len(by_kind.get((changed.section, changed.name), [])) > 1:
        return _no("duplicate name")
    needed: dict[int, Chunk] = {changed.start: changed}
    unknown = False
    queue = [changed]
    while queue:
        chunk = queue.pop()
        if chunk.complex_refs:
            return _no("complex refs (dep)")
        for key, value in chunk.refs:
            if "." in value:
                continue  # another project: the workspace answers, as in the full check
            section = {"taskRef": "tasks", "fromTemplate": "templates"}.get(key, "dataSets")
            found_chunks = by_kind.get((section, value), [])
            if len(found_chunks) > 1:
                return _no("ambiguous name")
            if not found_chunks:
                unknown = True  # reported with "did you mean": every name must be there
                continue
            if refs_changed and chunk is not changed and found_chunks[0] is changed:
                return _no("possible cycle")
            if found_chunks[0].start not in needed:
                needed[found_chunks[0].start] = found_chunks[0]
                queue.append(found_chunks[0])
    keep = [""] * len(lines)
    for i in new.other:
        keep[i] = lines[i]
    if unknown:
        # One-line stand-ins (`- name: x`) for the other items, so the suggestions for an
        # unknown name are chosen from exactly the same names, in the same order.
        for chunk in new.chunks:
            if chunk.name and chunk.start not in needed:
                first = lines[chunk.start]
                if not _STUB.match(first):
                    return _no("names not on the first line")
                keep[chunk.start] = _stand_in(first, chunk.section)
    for chunk in needed.values():
        keep[chunk.start : chunk.end] = lines[chunk.start : chunk.end]
    partial = analyze("\n".join(keep), path, workspace)
    if partial.project is None or any(d.code in _GLOBAL_CODES for d in partial.diagnostics):
        return _no("syntax error in the edited item")
    inside = [d for d in partial.diagnostics if changed.start <= d.range.start_line < changed.end]
    kept = []
    for d in previous.diagnostics:
        line = d.range.start_line
        if line < before.start:
            kept.append(d)
        elif line >= before.end:
            kept.append(_shift(d, delta) if delta else d)
    result = kept + inside
    if len(result) >= MAX_DIAGNOSTICS:
        return _no("too many diagnostics")
    result.sort(key=Diagnostic.sort_key)
    LAST_REASON[0] = "fast"
    return result, Previous(text, new, result)
