"""Semantic tokens: tags, references (with their project prefix), declarations and quantities."""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml
from lsprotocol import types

from ame_core.document import custom_tag, node_range
from ame_core.resolve import iter_inline_tasks
from ame_lsp.names import facts_of

if TYPE_CHECKING:
    from ame_core.engine import Analysis
    from ame_lsp.language_server import AmeLanguageServer

TOKEN_TYPES = ["type", "function", "class", "variable", "number", "namespace", "module"]
TOKEN_MODIFIERS = ["declaration"]
LEGEND = types.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS)
_KIND_TOKEN = {"task": 1, "template": 2, "data set": 3, "model": 6}


def register(server: AmeLanguageServer) -> None:
    @server.handler(
        types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
        LEGEND,
        empty=lambda: types.SemanticTokens(data=[]),
    )
    async def full(
        ls: AmeLanguageServer, params: types.SemanticTokensParams
    ) -> types.SemanticTokens:
        analysis = await ls.current_analysis(params.text_document.uri)
        if analysis is None:
            return types.SemanticTokens(data=[])
        data = await ls.in_worker(lambda: encode(ls, analysis, tokens(analysis)))
        return types.SemanticTokens(data=data)


Token = tuple[int, int, int, int, int]  # line, col, length (code points), type, modifiers


def tokens(analysis: Analysis) -> list[Token]:
    doc = analysis.doc
    out: list[Token] = []
    if doc.root is None:
        return out
    # Tags anywhere in the tree.
    seen: set[int] = set()
    stack = [doc.root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if custom_tag(node):
            rng = doc.tag_range_of(node)
            if rng is not None and rng.start_line == rng.end_line:
                out.append((rng.start_line, rng.start_col, rng.end_col - rng.start_col, 0, 0))
        if isinstance(node, yaml.MappingNode):
            stack.extend(v for _, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    project = analysis.project
    if project is None:
        return sorted(set(out))
    facts = facts_of(analysis)
    for d in facts.definitions:
        r = d.name_range
        if r.start_line == r.end_line:
            out.append((r.start_line, r.start_col, r.end_col - r.start_col, _KIND_TOKEN[d.kind], 1))
    for ref in facts.references:
        r, n = ref.range, ref.name_range
        if r.start_line != r.end_line:
            continue
        if n.start_col > r.start_col and n.start_line == r.start_line:
            out.append((r.start_line, r.start_col, n.start_col - 1 - r.start_col, 5, 0))
        out.append((n.start_line, n.start_col, n.end_col - n.start_col, _KIND_TOKEN[ref.kind], 0))
    # Quantities: resource values and data set sizes.
    maps = []
    for task, _ in iter_inline_tasks(project):
        if task.resources:
            maps.append((*task.source_path, "resources"))
    for template in project.template_list():
        if template.resources:
            maps.append((*template.source_path, "resources"))
    for model in project.model_list():
        if model.deployment is not None and model.deployment.resources:
            maps.append((*model.deployment.source_path, "resources"))
    for path in maps:
        node = doc.node_at(path)
        if isinstance(node, yaml.MappingNode):
            for _, v in node.value:
                _scalar(out, v)
    for data_set in project.data_set_list():
        if data_set.size is not None:
            _scalar(out, doc.node_at((*data_set.source_path, "size")))
    return sorted(set(out))


def _scalar(out: list[Token], node: yaml.Node | None) -> None:
    if isinstance(node, yaml.ScalarNode):
        r = node_range(node)
        if r.start_line == r.end_line and r.end_col > r.start_col:
            out.append((r.start_line, r.start_col, r.end_col - r.start_col, 4, 0))


def encode(server: AmeLanguageServer, analysis: Analysis, items: list[Token]) -> list[int]:
    lines = analysis.doc.lines
    data: list[int] = []
    prev_line = prev_col = 0
    for line, col, length, kind, mods in items:
        if length <= 0:
            continue
        start = server.positions.position(lines, line, col).character
        end = server.positions.position(lines, line, col + length).character
        delta_line = line - prev_line
        delta_col = start - prev_col if delta_line == 0 else start
        if delta_col < 0:
            continue  # overlapping tokens: keep the first
        data += [delta_line, delta_col, end - start, kind, mods]
        prev_line, prev_col = line, start
    return data
