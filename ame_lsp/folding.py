"""Folding ranges: every multi-line mapping entry and list item, and blocks of comments.
Falls back to indentation when the document does not parse."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml
from lsprotocol import types

from ame_core.document import last_content_line

if TYPE_CHECKING:
    from ame_lsp.language_server import AmeLanguageServer


def register(server: AmeLanguageServer) -> None:
    @server.handler(types.TEXT_DOCUMENT_FOLDING_RANGE, empty=list)
    async def folding_range(
        ls: AmeLanguageServer, params: types.FoldingRangeParams
    ) -> list[types.FoldingRange]:
        uri = params.text_document.uri
        analysis = await ls.current_analysis(uri)
        if analysis is None:
            return []
        return await ls.in_worker(folding_ranges, analysis)


def folding_ranges(analysis: Any) -> list[types.FoldingRange]:
    lines = analysis.doc.lines
    if analysis.doc.root is not None:
        ranges = from_nodes(analysis.doc.root, lines)
    else:
        ranges = from_indentation(lines)
    ranges |= comment_blocks(lines)
    return [
        types.FoldingRange(
            start_line=s,
            end_line=e,
            kind=types.FoldingRangeKind.Comment if comment else types.FoldingRangeKind.Region,
        )
        for s, e, comment in sorted(ranges)
    ]


def from_nodes(root: yaml.Node, lines: list[str]) -> set[tuple[int, int, bool]]:
    out: set[tuple[int, int, bool]] = set()
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, root.start_mark.line)]
    while stack:
        node, start = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            end = last_content_line(lines, node)
            if end > start:
                out.add((start, end, False))
            continue
        if id(node) in seen:
            continue  # an alias: folded where its anchor is
        seen.add(id(node))
        end = last_content_line(lines, node)
        if end > start and node is not root:
            out.add((start, end, False))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.append((v, k.start_mark.line))
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                stack.append((item, item.start_mark.line))
    return out


def from_indentation(lines: list[str]) -> set[tuple[int, int, bool]]:
    out: set[tuple[int, int, bool]] = set()
    stack: list[tuple[int, int]] = []  # (indent, start line)
    last = -1
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if line.lstrip().startswith("- "):
            indent += 0
        while stack and stack[-1][0] >= indent:
            _, start = stack.pop()
            if last > start:
                out.add((start, last, False))
        stack.append((indent, i))
        last = i
    while stack:
        _, start = stack.pop()
        if last > start:
            out.add((start, last, False))
    return out


def comment_blocks(lines: list[str]) -> set[tuple[int, int, bool]]:
    out: set[tuple[int, int, bool]] = set()
    start = None
    for i, line in enumerate([*lines, ""]):
        if line.lstrip().startswith("#"):
            start = i if start is None else start
        else:
            if start is not None and i - 1 > start:
                out.add((start, i - 1, True))
            start = None
    return out
