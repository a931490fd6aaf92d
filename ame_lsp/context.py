"""Where the cursor is, from the text lines alone: works while the document is not valid YAML.

The structure of a block-style YAML file is in its indentation: walking up from the cursor to
lines that start further left gives the parent keys and list items. The schema walk then turns
that path into the model (`ame_core.spec`) whose keys and values are valid at the cursor.
"""

from __future__ import annotations

import re
import types as pytypes
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from ame_core.spec.models import AmeModel, Project, field_by_alias
from ame_core.validate import resolve_annotation

_LINE = re.compile(
    r"^(?P<indent> *)(?P<dashes>(?:-(?: +|$))*)"
    r"(?:(?P<key>\"[^\"]*\"|'[^']*'|[^\s#'\"{\[!&*|>-][^:#]*?|-[^\s:#][^:#]*?)\s*:(?=\s|$))?"
    r"(?P<rest>.*)$"
)


@dataclass
class LineInfo:
    text: str
    indent: int  # column of the first non-space character
    dashes: list[int]  # columns of leading `- ` markers
    key: str | None
    key_start: int  # column of the key (or of the content after the dashes)
    key_end: int
    value_start: int  # column after `key:` and its spaces (or content start)
    value: str  # the value text (comment stripped, right-trimmed)
    blank: bool


def parse_line(text: str) -> LineInfo:
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return LineInfo(text, len(text) - len(text.lstrip(" ")), [], None, 0, 0, 0, "", True)
    match = _LINE.match(text)
    assert match is not None  # the pattern accepts any line
    indent = len(match.group("indent"))
    dashes: list[int] = []
    col = indent
    for part in re.finditer(r"-(?: +|$)", match.group("dashes")):
        dashes.append(indent + part.start())
    col = indent + len(match.group("dashes"))
    key = match.group("key")
    if key is not None:
        key_start = match.start("key")
        key_end = match.end("key")
        rest_start = match.start("rest")
        rest = match.group("rest")
        value_start = rest_start + (len(rest) - len(rest.lstrip(" ")))
        value = _strip_comment(rest.strip())
        if key[:1] in "\"'":
            key = key[1:-1]
        return LineInfo(
            text, indent, dashes, key.strip(), key_start, key_end, value_start, value, False
        )
    value = _strip_comment(text[col:].strip())
    return LineInfo(text, indent, dashes, None, col, col, col, value, False)


def _strip_comment(value: str) -> str:
    if value.startswith(("'", '"')):
        return value
    cut = re.search(r"\s#", value)
    return value[: cut.start()].rstrip() if cut else value


@dataclass(frozen=True)
class KeyStep:
    key: str
    tag: str | None = None


@dataclass(frozen=True)
class ItemStep:
    pass


Step = KeyStep | ItemStep


def value_tag(value: str) -> str | None:
    match = re.match(r"(![A-Za-z][\w-]*)", value)
    return match.group(1) if match else None


def ancestors(lines: list[str], line_no: int, col: int) -> list[Step]:
    """The parent keys and list items of a position whose content starts at column `col`."""
    steps: list[Step] = []
    limit = col
    item_col: int | None = None  # a sequence may sit at the same column as its parent key
    for ln in range(min(line_no, len(lines)) - 1, -1, -1):
        raw = lines[ln]
        body = raw.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        if len(raw) - len(body) > limit or (len(raw) - len(body) == limit and item_col is None):
            continue  # deeper than anything that can contain the cursor: no need to parse it
        info = parse_line(raw)
        if info.blank:
            continue
        if item_col is not None and info.indent == item_col and not info.dashes:
            if info.key is not None and not info.value:
                steps.append(KeyStep(info.key, None))
                limit, item_col = info.indent, None
                if limit == 0:
                    break
            continue
        if info.indent >= limit:
            continue
        if info.key is not None and info.key_start < limit:
            steps.append(KeyStep(info.key, value_tag(info.value)))
            steps.extend(ItemStep() for _ in info.dashes)
            item_col = None
        else:
            inner = [d for d in info.dashes if d < limit]
            steps.extend(ItemStep() for _ in inner)
            item_col = info.indent if inner else None
        limit = info.indent
        if limit == 0 and item_col is None:
            break
    steps.reverse()
    return steps


def sibling_keys(lines: list[str], line_no: int, col: int) -> set[str]:
    """Keys already written in the mapping that a key at (line_no, col) would belong to."""
    keys: set[str] = set()
    for direction in (-1, 1):
        ln = line_no + direction
        while 0 <= ln < len(lines):
            raw = lines[ln]
            body = raw.lstrip(" ")
            if not body or body.startswith("#") or len(raw) - len(body) > col:
                ln += direction  # blank, a comment, or inside a sibling's value
                continue
            info = parse_line(raw)
            if info.blank:
                ln += direction
                continue
            if info.key is not None and info.key_start == col:
                keys.add(info.key)
                if info.dashes and direction == -1:
                    break  # the first key of this list item
                if info.dashes and direction == 1:
                    break  # the next list item
            elif info.indent < col or (info.dashes and info.key_start <= col):
                break
            ln += direction
    if 0 <= line_no < len(lines):
        info = parse_line(lines[line_no])
        if info.dashes and direction == 1:
            pass
    return keys


# --- the schema walk ----------------------------------------------------------------------------


@dataclass
class Shape:
    """What the schema expects at a place: models, a list, a mapping of values, or a scalar."""

    models: list[type[AmeModel]] = field(default_factory=list)
    item: Any = None  # annotation of list items, if a list is allowed
    dict_value: Any = None  # annotation of mapping values, if a free mapping is allowed
    scalars: list[Any] = field(default_factory=list)  # str, int, bool, Literal[...]
    owner: type[AmeModel] | None = None  # the model whose field this is
    field_name: str | None = None  # python name of that field
    key: str | None = None  # the key as written


def shape_of(annotation: Any) -> Shape:
    shape = Shape()
    _collect(annotation, shape)
    return shape


def _collect(annotation: Any, shape: Shape) -> None:
    annotation = resolve_annotation(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, pytypes.UnionType):
        for arm in typing.get_args(annotation):
            if arm is not type(None):
                _collect(arm, shape)
    elif origin is list:
        shape.item = typing.get_args(annotation)[0]
    elif origin is dict:
        shape.dict_value = typing.get_args(annotation)[1]
    elif isinstance(annotation, type) and issubclass(annotation, AmeModel):
        shape.models.append(annotation)
    elif annotation is not type(None):
        shape.scalars.append(annotation)


def field_shape(model: type[AmeModel], key: str) -> Shape | None:
    """The shape of `key` in `model`, following an alias (`env` → environment)."""
    found = field_by_alias(model, key)
    if found is None:
        target = model.AME_ALIASES.get(key)
        if target and "." not in target:
            found = field_by_alias(model, target)
        elif target:
            head, _, rest = target.partition(".")
            head_found = field_by_alias(model, head)
            if head_found is not None:
                inner = shape_of(head_found[1].annotation)
                for sub in inner.models:
                    result = field_shape(sub, rest)
                    if result is not None:
                        return result
    if found is None:
        return None
    name, info = found
    shape = shape_of(info.annotation)
    shape.owner, shape.field_name, shape.key = model, name, key
    return shape


def walk(steps: list[Step]) -> Shape | None:
    """The shape at the end of a path of steps from the file's root."""
    shape: Shape | None = shape_of(Project)
    for step in steps:
        if shape is None:
            return None
        if isinstance(step, ItemStep):
            if shape.item is None:
                return None
            shape = shape_of(shape.item)
            continue
        next_shape: Shape | None = None
        for model in shape.models:
            next_shape = field_shape(model, step.key)
            if next_shape is not None:
                break
        if next_shape is None and shape.dict_value is not None:
            next_shape = shape_of(shape.dict_value)
            next_shape.key = step.key
        if next_shape is not None and step.tag:
            next_shape = _through_tag(next_shape, step.tag)
        shape = next_shape
    return shape


def _through_tag(shape: Shape, tag: str) -> Shape | None:
    """`executor: !pip` → the fields of the pip variant."""
    for model in shape.models:
        if getattr(model, "AME_TAGGED_UNION", False):
            name = model.AME_ALIASES.get(tag[1:], tag[1:])
            inner = field_shape(model, name)
            if inner is not None:
                inner.owner, inner.key = shape.owner, shape.key
                inner.field_name = shape.field_name
                return inner
    return shape


def literal_choices(shape: Shape) -> list[str]:
    out: list[str] = []
    for scalar in shape.scalars:
        if typing.get_origin(scalar) is Literal:
            out.extend(str(a) for a in typing.get_args(scalar))
    return out


# --- the cursor ---------------------------------------------------------------------------------


@dataclass
class Cursor:
    """The cursor in line terms: on a key (or where one would be typed), or on a value."""

    line: int
    col: int
    info: LineInfo
    steps: list[Step]  # ancestors of the mapping the cursor's key belongs to
    on: Literal["key", "value", "item"]  # item: a bare list item scalar (`- name`)
    key: str | None  # the key whose value the cursor is in
    key_col: int  # column where keys of this mapping start
    word_start: int  # start of the word being typed/hovered
    word_end: int
    word: str
    flow: bool = False  # inside `{...}` or `[...]`: insert flow-style text, one line
    present: frozenset[str] | None = None  # keys already in a flow mapping

    def shape(self) -> Shape | None:
        return walk(self.steps)

    def value_shape(self) -> Shape | None:
        if self.key is None:
            return None
        return walk([*self.steps, KeyStep(self.key)])


_WORD = re.compile(r"[\w.!/\"'-]*")


def cursor_at(lines: list[str], line: int, col: int) -> Cursor | None:
    if not 0 <= line < len(lines):
        return None
    text = lines[line]
    col = min(col, len(text))
    info = parse_line(text)
    # The word under the cursor (for replacing while typing, and for hover).
    start = col
    while start > 0 and re.match(r"[\w.!/\"'-]", text[start - 1]):
        start -= 1
    end = col
    while end < len(text) and re.match(r"[\w.!/\"'-]", text[end]):
        end += 1
    if info.blank:
        key_col = col if not text.strip() else info.indent
        steps = ancestors(lines, line, key_col)
        return Cursor(line, col, info, steps, "key", None, key_col, col, col, "")
    own_items = [d for d in info.dashes if d < col]
    if info.key is not None and col > info.key_end:
        # In the value of `key:` on this line.
        steps = ancestors(lines, line, info.dashes[0] if info.dashes else info.key_start)
        steps.extend(ItemStep() for _ in info.dashes)
        vstart = max(start, info.value_start) if col >= info.value_start else col
        return Cursor(
            line, col, info, steps, "value", info.key, info.key_start, vstart, end, text[vstart:end]
        )
    base = info.dashes[0] if info.dashes else info.key_start
    steps = ancestors(lines, line, base if info.dashes else info.key_start)
    steps.extend(ItemStep() for _ in own_items)
    key_col = info.key_start
    if info.key is None and info.dashes and info.value and col >= info.key_start:
        # `- something` : a scalar list item (data set names, steps being typed).
        return Cursor(
            line,
            col,
            info,
            steps,
            "item",
            None,
            key_col,
            info.key_start,
            end,
            text[info.key_start : end],
        )
    return Cursor(
        line,
        col,
        info,
        steps,
        "key",
        None,
        key_col,
        max(start, key_col),
        end,
        text[max(start, key_col) : end],
    )


def tree_cursor(doc: Any, line: int, col: int) -> Cursor | None:
    """The cursor from a parsed document's node tree (handles flow style, which lines do not):
    only for a scalar key or value under the cursor."""
    import yaml

    from ame_core.document import custom_tag, node_range

    if doc.root is None:
        return None
    path, node, is_key = doc.path_at(line, col)
    if not isinstance(node, yaml.ScalarNode) or not path:
        return None
    steps: list[Step] = []
    for depth, step in enumerate(path[:-1]):
        if isinstance(step, int):
            steps.append(ItemStep())
        else:
            value = doc.node_at(path[: depth + 1])
            steps.append(KeyStep(step, custom_tag(value) if value is not None else None))
    rng = node_range(node)
    if rng.start_line != rng.end_line:
        return None
    text = doc.lines[line] if line < len(doc.lines) else ""
    last = path[-1]
    quote = 1 if node.style in ("'", '"') else 0
    value_text = text[rng.start_col : rng.end_col]
    if isinstance(last, int):
        info = LineInfo(
            text, 0, [], None, rng.start_col, rng.start_col, rng.start_col, value_text, False
        )
        steps.append(ItemStep())
        return Cursor(
            line,
            col,
            info,
            steps,
            "item",
            None,
            rng.start_col,
            rng.start_col,
            rng.end_col,
            value_text,
        )
    if is_key:
        info = LineInfo(text, 0, [], last, rng.start_col, rng.end_col, rng.end_col, "", False)
        return Cursor(
            line, col, info, steps, "key", None, rng.start_col, rng.start_col, rng.end_col, last
        )
    key_node = doc.key_node_at(path)
    key_start = key_node.start_mark.column if key_node is not None else rng.start_col
    key_end = key_node.end_mark.column if key_node is not None else rng.start_col
    info = LineInfo(text, 0, [], last, key_start, key_end, rng.start_col, value_text, False)
    del quote
    return Cursor(
        line, col, info, steps, "value", last, key_start, rng.start_col, rng.end_col, value_text
    )
