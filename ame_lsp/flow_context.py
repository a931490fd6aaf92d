"""Where the cursor is inside a flow collection (`{name: x, |}`, `[ds_1, |]`), from the text.

Line-based context (`context.cursor_at`) reads block structure from indentation, which says
nothing inside braces. Here the flow text from its outermost `{` or `[` up to the cursor is
scanned: each collection it opens adds a step (the key it is the value of, or a list item),
and the innermost one tells whether a key, a value or a list item is being typed, and which
keys its mapping already has. Like the line-based context it needs no valid YAML, so it works
while the user types; it gives up (None) where the text is not simple flow style.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ame_lsp.context import (
    Cursor,
    ItemStep,
    KeyStep,
    LineInfo,
    Step,
    ancestors,
    parse_line,
    value_tag,
)

# A flow collection this many lines above the cursor is not looked for.
MAX_FLOW_LINES = 40
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.!/\"'-")
_INDICATORS = frozenset(",[]{}")


@dataclass
class _Frame:
    kind: str  # "{" or "["
    owner: Step  # what this collection is the value of
    keys: set[str] = field(default_factory=set)
    key: str | None = None  # the current entry's key, once its `:` is seen
    entry: tuple[int, int] | None = None  # where the current entry's text starts
    value_start: tuple[int, int] | None = None


def flow_cursor(lines: list[str], line: int, col: int) -> Cursor | None:
    """The cursor inside a flow collection, or None when it is not in one."""
    if not 0 <= line < len(lines):
        return None
    col = min(col, len(lines[line]))
    opened = 0
    for start in range(line, max(-1, line - MAX_FLOW_LINES), -1):
        raw = lines[start] if start != line else lines[line][:col]
        # A cheap count first: only a line that leaves a collection open can start one.
        opened += raw.count("{") + raw.count("[") - raw.count("}") - raw.count("]")
        if opened > 0:
            found = _scan(lines, start, line, col)
            if found is not None:
                return found
        body = lines[start].lstrip(" ")
        if start != line and body and not body.startswith("#") and len(lines[start]) == len(body):
            return None  # a root key: nothing above it can hold the cursor
    return None


def _scan(lines: list[str], start: int, line: int, col: int) -> Cursor | None:
    info = parse_line(lines[start])
    if info.blank:
        return None
    begin = info.value_start if info.key is not None else info.key_start
    text = lines[start]
    i = begin
    tag = None
    if text.startswith("!", i):  # `executor: !pip {` : the tag of the collection
        tag = value_tag(text[i:])
        i += len(tag or "")
        while i < len(text) and text[i] == " ":
            i += 1
    if i >= len(text) or text[i] not in "{[" or (info.key is None and not info.dashes):
        return None  # not a collection that is the value of a key or a list item
    block: list[Step] = ancestors(lines, start, info.dashes[0] if info.dashes else info.key_start)
    block.extend(ItemStep() for _ in info.dashes)
    owner: Step = KeyStep(info.key, tag) if info.key is not None else block.pop()
    frames: list[_Frame] = []
    pending_tag: str | None = None
    for ln, pos, end, ch in _tokens(lines, start, i, line + 1):
        if (ln, pos) >= (line, col):
            break
        row = lines[ln]
        top = frames[-1] if frames else None
        if ch in "\"'":
            if top is not None and top.entry is None:
                top.entry = (ln, pos)
            if end is None or (ln, end) >= (line, col):
                if ln == line:
                    break  # the cursor is inside this quoted scalar
                return None  # a quoted scalar over several lines: not followed here
            continue
        if ch in "{[":
            if top is None:
                step = owner
            elif top.kind == "[":
                step = ItemStep()
            elif top.key is not None:
                step = KeyStep(top.key, pending_tag)
            else:
                return None  # a collection as a key
            frames.append(_Frame(ch, step))
            pending_tag = None
            continue
        if top is None:
            return None  # the outermost collection closed before the cursor
        if ch in "}]":
            frames.pop()
            if not frames:
                return None
        elif ch == ",":
            top.key, top.entry, top.value_start, pending_tag = None, None, None, None
        elif ch == ":" and top.kind == "{" and top.key is None and _ends_key(row, pos):
            if top.entry is None:
                return None  # `: value` without a key
            top.key = _key_text(lines, top.entry, (ln, pos))
            top.keys.add(top.key)
        elif ch != " ":
            if top.entry is None:
                top.entry = (ln, pos)
            if top.key is not None and top.value_start is None:
                top.value_start = (ln, pos)
            if ch == "!" and (pos == 0 or row[pos - 1] in " {[,"):
                pending_tag = value_tag(row[pos:])
    if not frames:
        return None
    return _cursor(lines, line, col, block, frames)


def _cursor(
    lines: list[str], line: int, col: int, block: list[Step], frames: list[_Frame]
) -> Cursor:
    text = lines[line]
    top = frames[-1]
    steps = block + [frame.owner for frame in frames]
    word_start = col
    while word_start > 0 and text[word_start - 1] in _WORD_CHARS:
        word_start -= 1
    word_end = col
    while word_end < len(text) and text[word_end] in _WORD_CHARS:
        word_end += 1
    if top.kind == "[":
        start = top.entry[1] if top.entry is not None and top.entry[0] == line else word_start
        value = text[start:col]
        info = LineInfo(text, 0, [], None, start, start, start, value, False)
        return Cursor(
            line,
            col,
            info,
            [*steps, ItemStep()],
            "item",
            None,
            start,
            start,
            word_end,
            value,
            flow=True,
        )
    if top.key is not None:
        if top.value_start is not None and top.value_start[0] == line:
            value_start = top.value_start[1]
        else:
            value_start = col
        value = text[value_start:col]
        info = LineInfo(text, 0, [], top.key, value_start, value_start, value_start, value, False)
        return Cursor(
            line,
            col,
            info,
            steps,
            "value",
            top.key,
            value_start,
            max(word_start, value_start),
            word_end,
            text[max(word_start, value_start) : word_end],
            flow=True,
        )
    start = top.entry[1] if top.entry is not None and top.entry[0] == line else word_start
    info = LineInfo(text, 0, [], None, start, start, start, "", False)
    present = frozenset(top.keys | _keys_after(lines, line, col))
    return Cursor(
        line,
        col,
        info,
        steps,
        "key",
        None,
        start,
        start,
        word_end,
        text[start:word_end],
        flow=True,
        present=present,
    )


def _keys_after(lines: list[str], line: int, col: int) -> set[str]:
    """Keys written after the cursor in the same flow mapping (up to its closing brace)."""
    keys: set[str] = set()
    depth = 0
    entry: tuple[int, int] | None = None
    seen_colon = False
    for ln, pos, end, ch in _tokens(lines, line, col, line + MAX_FLOW_LINES):
        if ch in "\"'":
            if end is None:
                break
            if entry is None and depth == 0 and not seen_colon:
                entry = (ln, pos)
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and ch == ",":
            entry, seen_colon = None, False
        elif depth == 0 and ch == ":" and _ends_key(lines[ln], pos) and not seen_colon:
            if entry is not None:
                keys.add(_key_text(lines, entry, (ln, pos)))
            seen_colon = True
        elif depth == 0 and ch != " " and entry is None and not seen_colon:
            entry = (ln, pos)
    return keys


def _tokens(
    lines: list[str], ln: int, pos: int, stop_line: int
) -> Iterator[tuple[int, int, int | None, str]]:
    """(line, column, end, character) of each character of flow text from a position, before
    `stop_line`. A quoted scalar is one token (`end` one past its closing quote, None when it
    is not closed on its line, which ends the tokens); comments are skipped."""
    while ln < min(len(lines), stop_line):
        row = lines[ln]
        if pos >= len(row):
            ln, pos = ln + 1, 0
            continue
        ch = row[pos]
        if ch in "\"'":
            end = _quoted_end(row, pos)
            yield ln, pos, end, ch
            if end is None:
                return
            pos = end
            continue
        if ch == "#" and (pos == 0 or row[pos - 1] == " "):
            ln, pos = ln + 1, 0
            continue
        yield ln, pos, pos + 1, ch
        pos += 1


def _ends_key(row: str, pos: int) -> bool:
    """A `:` that ends a key: followed by a space, the end of the line or a flow indicator."""
    return pos + 1 >= len(row) or row[pos + 1] == " " or row[pos + 1] in _INDICATORS


def _quoted_end(row: str, pos: int) -> int | None:
    """One past the closing quote of the scalar that opens at `pos`, or None (not closed)."""
    quote = row[pos]
    i = pos + 1
    while i < len(row):
        if quote == '"' and row[i] == "\\":
            i += 2
            continue
        if row[i] == quote:
            if quote == "'" and i + 1 < len(row) and row[i + 1] == "'":
                i += 2  # '' is an escaped quote
                continue
            return i + 1
        i += 1
    return None


def _key_text(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    if start[0] == end[0]:
        raw = lines[start[0]][start[1] : end[1]]
    else:
        raw = " ".join(
            [lines[start[0]][start[1] :], *lines[start[0] + 1 : end[0]], lines[end[0]][: end[1]]]
        )
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        raw = raw[1:-1]
    return raw
