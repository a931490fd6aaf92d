"""YAML text → node tree with positions and tags → JSON view.

The node tree is PyYAML's (`yaml.MappingNode`, `yaml.SequenceNode`, `yaml.ScalarNode`) built by
libyaml's C parser, so every node has exact start/end marks and its tag. Aliases are the same node
object as their anchor, so the JSON view is built once per node (memoised) and merge keys (`<<`)
are expanded without re-walking: a file with thousands of merge keys costs what its text costs.

Guards keep bad input from hanging or exhausting memory: nesting is capped, and the expanded size
of the document through aliases is counted before anything expands it (an "alias bomb").
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from ame_core.diagnostics import Diagnostic, Range, Related, Severity

MAX_DEPTH = 200
MAX_EXPANDED_NODES = 2_000_000
# Below these counts libyaml's recursive C composer cannot get near a stack overflow, so the fast
# path is safe; anything else goes through the event stream with an explicit depth cap.
_FAST_PATH_MAX_FLOW_OPENERS = 1000
_FAST_PATH_MAX_LINE = 1000

YAML_TAG_PREFIX = "tag:yaml.org,2002:"
MERGE_TAG = YAML_TAG_PREFIX + "merge"
STR_TAG = YAML_TAG_PREFIX + "str"

Node = yaml.Node
Path = tuple[str | int, ...]


class YamlInt(int):
    """An int from YAML that remembers its source text (`007`, `1_000`)."""

    source: str

    def __new__(cls, value: int, source: str) -> YamlInt:
        obj = super().__new__(cls, value)
        obj.source = source
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        # copy, deepcopy (dataclasses.asdict) and pickle rebuild it with its source text.
        return (type(self), (int(self), self.source))


class YamlFloat(float):
    """A float from YAML that remembers its source text: `pythonVersion: 3.10` is "3.10"."""

    source: str

    def __new__(cls, value: float, source: str) -> YamlFloat:
        obj = super().__new__(cls, value)
        obj.source = source
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        # copy, deepcopy (dataclasses.asdict) and pickle rebuild it with its source text.
        return (type(self), (float(self), self.source))


def source_text(value: Any) -> Any:
    """The text a scalar was written as, where the field is a string."""
    if isinstance(value, YamlInt | YamlFloat):
        return value.source
    return value


def node_range(node: Node) -> Range:
    start, end = node.start_mark, node.end_mark
    return Range(start.line, start.column, end.line, end.column)


def custom_tag(node: Node) -> str | None:
    """The node's explicit application tag (`!poetry`), or None for plain YAML tags."""
    tag = node.tag
    if tag and tag.startswith("!"):
        return tag
    return None


def tag_range(doc_text_lines: list[str], node: Node) -> Range | None:
    """Where the `!tag` of a node is written: the last occurrence before the node's content."""
    tag = custom_tag(node)
    if tag is None:
        return None
    line, col = node.start_mark.line, node.start_mark.column
    # The tag is written at or before the node's start mark, possibly on an earlier line.
    for ln in range(line, max(-1, line - 50), -1):
        text = doc_text_lines[ln] if ln < len(doc_text_lines) else ""
        limit = col + len(tag) if ln == line else len(text)
        idx = text.rfind(tag, 0, limit)
        if idx >= 0:
            return Range(ln, idx, ln, idx + len(tag))
    return None


@dataclass(slots=True)
class YamlDocument:
    """A parsed file: its text, node tree, syntax-level diagnostics and JSON view."""

    text: str
    root: Node | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    view: Any = None
    # id of each `{tag: value}` view → its tagged node (tags are rare: a dict beats a tree walk)
    tagged_views: dict[int, Node] = field(default_factory=dict)
    _lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    # --- locating JSON paths in the source -------------------------------------------------

    def node_at(self, path: Path) -> Node | None:
        """The value node at a JSON path (following merge keys), or None."""
        node = self.root
        tag_consumed = False
        for step in path:
            if node is None:
                return None
            # A tagged node `!pip {...}` is `{"pip": {...}}` in the JSON view: the tag's step
            # stays on the same node.
            if not tag_consumed and step == _tag_step(node):
                tag_consumed = True
                continue
            tag_consumed = False
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                entry = find_entry(node, step)
                node = entry[1] if entry else None
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                node = node.value[step] if 0 <= step < len(node.value) else None
            else:
                return None
        return node

    def key_node_at(self, path: Path) -> Node | None:
        """The key node of the last step of a path that names a mapping entry."""
        if not path or not isinstance(path[-1], str):
            return None
        parent = self.node_at(path[:-1])
        if not isinstance(parent, yaml.MappingNode):
            return None
        entry = find_entry(parent, path[-1])
        return entry[0] if entry else None

    def range_of(self, path: Path, *, key: bool = False) -> Range:
        """Best range for a path: the key or value itself, else the nearest ancestor that exists."""
        if key:
            key_node = self.key_node_at(path)
            if key_node is not None:
                return node_range(key_node)
        for depth in range(len(path), -1, -1):
            node = self.node_at(path[:depth])
            if node is not None:
                if depth < len(path):
                    # The path is missing below here: point at the parent's key, not its body.
                    key_node = self.key_node_at(path[:depth])
                    if key_node is not None:
                        return node_range(key_node)
                    return first_line_range(self.lines, node)
                return node_range(node)
        return Range(0, 0, 0, 0)

    def source_map(self) -> dict[Path, Range]:
        """Every JSON path of the view with the range of its value (a tagged node's tag step
        maps to the same range). Built on demand: the checks locate paths lazily instead."""
        result: dict[Path, Range] = {}
        if self.root is None or self.view is None:
            return result
        stack: list[tuple[Path, Node]] = [((), self.root)]
        while stack:
            path, node = stack.pop()
            result[path] = node_range(node)
            tag = _tag_step(node)
            if tag is not None:
                path = (*path, tag)
                result[path] = node_range(node)
            if isinstance(node, yaml.SequenceNode):
                stack.extend(((*path, i), child) for i, child in enumerate(node.value))
            elif isinstance(node, yaml.MappingNode):
                view = self._view_at(path)
                for key in view if isinstance(view, dict) else ():
                    entry = find_entry(node, key)
                    if entry is not None and (*path, key) not in result:
                        stack.append(((*path, key), entry[1]))
        return result

    def _view_at(self, path: Path) -> Any:
        value = self.view
        for step in path:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                return None
        return value

    def tag_range_of(self, node: Node) -> Range | None:
        return tag_range(self.lines, node)

    # --- from a position to the path under it (for editors) --------------------------------

    def path_at(self, line: int, col: int) -> tuple[Path, Node | None, bool]:
        """The JSON path of the innermost node at a position, that node, and whether it is a key."""
        path: list[str | int] = []
        node = self.root
        is_key = False
        while node is not None:
            child: Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.tag == MERGE_TAG:
                        continue
                    if node_range(key).contains(line, col):
                        path.append(_key_text(key))
                        return tuple(path), key, True
                    if _owns(value, line, col):
                        path.append(_key_text(key))
                        child = value
                        break
            elif isinstance(node, yaml.SequenceNode):
                for index, item in enumerate(node.value):
                    if _owns(item, line, col):
                        path.append(index)
                        child = item
                        break
            if child is None:
                return tuple(path), node, is_key
            node = child
        return tuple(path), node, is_key


def _tag_step(node: Node) -> str | None:
    tag = custom_tag(node)
    return tag[1:] if tag is not None else None


def _owns(node: Node, line: int, col: int) -> bool:
    return node_range(node).contains(line, col)


def first_line_range(lines: list[str], node: Node) -> Range:
    """A node's first line only: a task's error belongs on its first line, not its whole body."""
    start = node.start_mark
    line_text = lines[start.line] if start.line < len(lines) else ""
    end = len(line_text.rstrip())
    if end <= start.column:
        end = start.column
    return Range(start.line, start.column, start.line, end)


def last_content_line(lines: list[str], node: Node) -> int:
    """The last line that holds a node's text: its end mark points past trailing line breaks,
    blank lines and comments, often at the start of the next entry's line."""
    end = min(node.end_mark.line, len(lines) - 1)
    if end > node.start_mark.line and not lines[end][: node.end_mark.column].strip():
        end -= 1
    while end > node.start_mark.line and (
        not lines[end].strip() or lines[end].lstrip().startswith("#")
    ):
        end -= 1
    return end


def _key_text(key: Node) -> str:
    return key.value if isinstance(key.value, str) else str(key.value)


_ENTRY_INDEXES: weakref.WeakKeyDictionary[yaml.MappingNode, dict[Any, tuple[Node, Node]]] = (
    weakref.WeakKeyDictionary()
)


def find_entry(mapping: yaml.MappingNode, name: str) -> tuple[Node, Node] | None:
    """The (key, value) pair for `name`, explicit keys first, then merged-in keys in order."""
    if len(mapping.value) > 16:
        # Large mappings get an index so that locating many keys in one mapping is not
        # quadratic. It lives as long as the node, beside it rather than on it.
        index = _ENTRY_INDEXES.get(mapping)
        if index is None:
            index = {}
            for key, value in mapping.value:
                if key.tag != MERGE_TAG and isinstance(key, yaml.ScalarNode):
                    index.setdefault(key.value, (key, value))
            _ENTRY_INDEXES[mapping] = index
        found = index.get(name)
        if found is not None:
            return found
    merges: list[Node] = []
    for key, value in mapping.value:
        if key.tag == MERGE_TAG:
            merges.append(value)
        elif isinstance(key, yaml.ScalarNode) and key.value == name:
            return key, value
    for merged in merges:
        sources = merged.value if isinstance(merged, yaml.SequenceNode) else [merged]
        for source in sources:
            if isinstance(source, yaml.MappingNode):
                entry = find_entry(source, name)
                if entry is not None:
                    return entry
    return None


def iter_entries(mapping: yaml.MappingNode) -> Iterator[tuple[Node, Node]]:
    """Explicit entries of a mapping (merge keys excluded)."""
    for key, value in mapping.value:
        if key.tag != MERGE_TAG:
            yield key, value


# --- parsing ----------------------------------------------------------------------------------


def _unclosed_diagnostic(error: yaml.MarkedYAMLError) -> Diagnostic | None:
    """A construct left open (a quote, a `[`) runs to the end of the file: the squiggle goes
    where it opens, the end of the file is the related place."""
    ctx, end = error.context_mark, error.problem_mark
    problem = error.problem or ""
    if ctx is None or end is None or not error.context:
        return None
    if "end of stream" not in problem and "stream end" not in problem:
        return None
    what = re.sub(r"^while (scanning|parsing) ", "", error.context)
    message = (
        f"YAML syntax error: {what} starts here and is not closed "
        f"({problem} at line {end.line + 1}, column {end.column + 1})"
    )
    related = Related("the file ends here", Range(end.line, end.column, end.line, end.column))
    return Diagnostic(
        "AME001",
        Severity.ERROR,
        message,
        Range(ctx.line, ctx.column, ctx.line, ctx.column + 1),
        related=(related,),
    )


def _syntax_diagnostic(error: yaml.MarkedYAMLError, code: str = "AME001") -> Diagnostic:
    if code == "AME001" and (unclosed := _unclosed_diagnostic(error)) is not None:
        return unclosed
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line, mark.column) if mark is not None else (0, 0)
    problem = error.problem or "invalid YAML"
    message = f"YAML syntax error: {problem}"
    if error.context and error.context_mark is not None and error.context_mark is not mark:
        ctx = error.context_mark
        message += f" ({error.context} at line {ctx.line + 1}, column {ctx.column + 1})"
    if code == "AME002":
        message = (
            "an ame.yml holds one YAML document: remove this '---' and everything after it, "
            "or move it to its own project file"
        )
    return Diagnostic(code, Severity.ERROR, message, Range(line, col, line, col + 1))


class _FastLoader(yaml.CSafeLoader):
    """libyaml's C composer with a memoised implicit-tag resolver: the same plain scalars
    ("name", "cpu", "2") recur thousands of times, and PyYAML's resolver runs regexes for each."""

    _memo: dict[str, str] = {}

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._memo.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(self._memo) < 50_000:
                    self._memo[value] = tag
            return tag
        return super().resolve(kind, value, implicit)


def _compose_fast(text: str) -> Node | None:
    loader = _FastLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


class _DepthExceeded(Exception):
    def __init__(self, mark: Any) -> None:
        self.mark = mark


def _compose_from_events(text: str) -> Node | None:
    """Compose a node tree from libyaml's event stream with an explicit stack and a depth cap."""
    resolver = yaml.resolver.Resolver()
    anchors: dict[str, Node] = {}
    stack: list[tuple[Node, list[Any]]] = []
    root: Node | None = None
    documents = 0

    def attach(node: Node) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        parent, pending = stack[-1]
        if isinstance(parent, yaml.SequenceNode):
            parent.value.append(node)
        elif pending:
            parent.value.append((pending.pop(), node))
        else:
            pending.append(node)

    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise yaml.composer.ComposerError(
                    "expected a single document in the stream",
                    None,
                    "but found another document",
                    event.start_mark,
                )
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                raise yaml.composer.ComposerError(
                    None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                )
            attach(anchors[event.anchor])
        elif isinstance(event, yaml.ScalarEvent):
            tag = event.tag
            if tag is None or tag == "!":
                tag = resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
            if event.anchor:
                anchors[event.anchor] = node
            attach(node)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise _DepthExceeded(event.start_mark)
            is_seq = isinstance(event, yaml.SequenceStartEvent)
            tag = event.tag
            if tag is None or tag == "!":
                kind = yaml.SequenceNode if is_seq else yaml.MappingNode
                tag = resolver.resolve(kind, None, event.implicit)
            cls = yaml.SequenceNode if is_seq else yaml.MappingNode
            node = cls(tag, [], event.start_mark, None, flow_style=event.flow_style)
            if event.anchor:
                anchors[event.anchor] = node
            attach(node)
            stack.append((node, []))
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            node, _ = stack.pop()
            node.end_mark = event.end_mark
    return root


def _needs_safe_path(text: str) -> bool:
    flow_openers = text.count("[") + text.count("{")
    if flow_openers > _FAST_PATH_MAX_FLOW_OPENERS:
        return True
    return any(len(line) > _FAST_PATH_MAX_LINE for line in text.splitlines())


def parse_yaml(text: str) -> YamlDocument:
    """Parse text into a YamlDocument. Never raises for any input text."""
    if text.startswith("\ufeff"):
        text = text[1:]
    doc = YamlDocument(text=text, root=None)
    try:
        root = _compose_from_events(text) if _needs_safe_path(text) else _compose_fast(text)
        doc.root = root
        if root is not None:
            doc.view = _ViewBuilder(doc).build(root)
    except _DepthExceeded as exc:
        doc.root = doc.view = None
        line, col = exc.mark.line, exc.mark.column
        doc.diagnostics.append(
            Diagnostic(
                "AME004",
                Severity.ERROR,
                f"nesting deeper than {MAX_DEPTH} levels: an ame.yml never needs this; "
                "the file was not read further",
                Range(line, col, line, col + 1),
            )
        )
        return doc
    except yaml.composer.ComposerError as exc:
        code = "AME002" if "single document" in str(exc.context or "") else "AME001"
        doc.diagnostics.append(_syntax_diagnostic(exc, code))
        return doc
    except yaml.MarkedYAMLError as exc:
        doc.diagnostics.append(_syntax_diagnostic(exc))
        return doc
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        doc.diagnostics.append(
            Diagnostic("AME001", Severity.ERROR, f"YAML syntax error: {exc}", Range(0, 0, 0, 1))
        )
        return doc
    return doc


# --- the JSON view ----------------------------------------------------------------------------

_constructor = yaml.constructor.SafeConstructor()


def _scalar_value(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    if tag == STR_TAG or not tag.startswith(YAML_TAG_PREFIX):
        return node.value
    kind = tag[len(YAML_TAG_PREFIX) :]
    try:
        if kind == "int":
            return YamlInt(_constructor.construct_yaml_int(node), node.value)
        if kind == "float":
            return YamlFloat(_constructor.construct_yaml_float(node), node.value)
        if kind == "bool":
            return _constructor.construct_yaml_bool(node)
        if kind == "null":
            return None
    except (ValueError, yaml.YAMLError):
        return node.value
    # timestamps, binary and the like stay text in the JSON view
    return node.value


# An anchor definition (`&name` after a space, a flow indicator or a line start). Without one
# there can be no alias; a false match only costs the alias-size pass.
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s,\[\]{}]", re.MULTILINE)


class _ViewBuilder:
    """Builds the JSON view, once per node, counting the expanded size to stop alias bombs."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.memo: dict[int, Any] = {}
        self.sizes: dict[int, int] = {}
        self.heights: dict[int, int] = {}
        self.in_progress: set[int] = set()

    def build(self, root: Node) -> Any:
        if _ANCHOR.search(self.doc.text) is None:
            # No alias anywhere: every node is reached once, so the view cannot outgrow the
            # text; only the nesting depth needs watching, which `_view` does.
            return self._view(root, 1)
        try:
            self._size(root)
        except _RecursiveAlias as exc:
            rng = node_range(exc.node)
            self.doc.diagnostics.append(
                Diagnostic(
                    "AME005",
                    Severity.ERROR,
                    "recursive alias: this anchor contains an alias to itself, which never ends",
                    Range(rng.start_line, rng.start_col, rng.start_line, rng.start_col + 1),
                )
            )
            return None
        except _TooLarge as exc:
            rng = first_line_range(self.doc.lines, exc.node)
            self.doc.diagnostics.append(
                Diagnostic(
                    "AME004",
                    Severity.ERROR,
                    f"aliases here expand to more than {MAX_EXPANDED_NODES:,} values "
                    "(an alias bomb?): the file was not read further",
                    rng,
                )
            )
            return None
        return self._view(root, 1)

    def _size(self, node: Node, depth: int = 1) -> int:
        """Expanded size of a node; also stops nesting deeper than MAX_DEPTH (aliases count
        at the depth they are used, through the memoised height of their subtree)."""
        if isinstance(node, yaml.ScalarNode):
            return 1
        key = id(node)
        known = self.sizes.get(key)
        if known is not None:
            if depth + self.heights[key] > MAX_DEPTH:
                raise _DepthExceeded(node.start_mark)
            return known
        if key in self.in_progress:
            raise _RecursiveAlias(node)
        if depth > MAX_DEPTH:
            raise _DepthExceeded(node.start_mark)
        self.in_progress.add(key)
        total = 1
        height = 0
        children = (
            node.value
            if isinstance(node, yaml.SequenceNode)
            else [child for pair in node.value for child in pair]
        )
        for child in children:
            total += self._size(child, depth + 1)
            if total > MAX_EXPANDED_NODES:
                raise _TooLarge(node)
            child_height = self.heights.get(id(child), 0)
            if child_height > height:
                height = child_height
        self.in_progress.discard(key)
        self.sizes[key] = total
        self.heights[key] = height + 1
        return total

    def _view(self, node: Node, depth: int) -> Any:
        key = id(node)
        memo = self.memo
        if key in memo:
            return memo[key]
        cls = node.__class__
        if cls is yaml.ScalarNode:
            if node.tag == STR_TAG:  # most scalars: no conversion, no tag
                memo[key] = node.value
                return node.value
            value = _scalar_value(node)
        elif depth > MAX_DEPTH:
            raise _DepthExceeded(node.start_mark)
        elif cls is yaml.SequenceNode:
            value = [self._view(child, depth + 1) for child in node.value]
        else:
            value = self._mapping(node, depth)
        tag = node.tag
        if tag[0] == "!":
            if isinstance(node, yaml.ScalarNode) and node.value == "":
                value = {}  # `executor: !mlflow` with no fields is an empty mapping
            value = {tag[1:]: value}
            self.doc.tagged_views[id(value)] = node
        self.memo[key] = value
        return value

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[dict[str, Any]] = []
        view = self._view
        for k, v in node.value:
            # The common case first: a plain string key seen for the first time.
            if k.tag == STR_TAG and k.__class__ is yaml.ScalarNode and k.value not in result:
                result[k.value] = view(v, depth + 1)
                continue
            if k.tag == MERGE_TAG:
                merged.extend(self._merge_sources(v, depth))
                continue
            if not isinstance(k, yaml.ScalarNode):
                self.doc.diagnostics.append(
                    Diagnostic(
                        "AME006",
                        Severity.ERROR,
                        "mapping keys must be plain strings, not collections",
                        first_line_range(self.doc.lines, k),
                    )
                )
                continue
            name = k.value
            if name in result:
                first = next(key for key, _ in node.value if key.value == name).start_mark
                self.doc.diagnostics.append(
                    Diagnostic(
                        "AME003",
                        Severity.ERROR,
                        f"duplicate key '{name}' (first at line {first.line + 1}); "
                        "YAML keeps only one of them: remove or rename this one",
                        node_range(k),
                    )
                )
                continue
            result[name] = view(v, depth + 1)
        for source in merged:
            for name, value in source.items():
                if name not in result:
                    result[name] = value
        return result

    def _merge_sources(self, value: Node, depth: int) -> list[dict[str, Any]]:
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        out: list[dict[str, Any]] = []
        for source in sources:
            view = self._view(source, depth + 1)
            if isinstance(source, yaml.MappingNode) and isinstance(view, dict):
                out.append(view)
            else:
                self.doc.diagnostics.append(
                    Diagnostic(
                        "AME008",
                        Severity.ERROR,
                        "a merge key (<<) takes a mapping or a list of mappings",
                        first_line_range(self.doc.lines, source),
                    )
                )
        return out


class _RecursiveAlias(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


class _TooLarge(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node
