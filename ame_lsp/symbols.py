"""Document symbols (outline: tasks with their pipeline steps, templates, models, data sets) and
workspace symbols (every named object of every workspace project file)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ame_core.document import node_range
from ame_core.resolve import parse_ref
from ame_lsp.names import facts_of, workspace_facts

if TYPE_CHECKING:
    from ame_core.engine import Analysis
    from ame_lsp.language_server import AmeLanguageServer

SYMBOL_KIND = {
    "task": types.SymbolKind.Function,
    "template": types.SymbolKind.Class,
    "model": types.SymbolKind.Module,
    "data set": types.SymbolKind.Variable,
}
SECTIONS = (
    ("tasks", "task"),
    ("templates", "template"),
    ("models", "model"),
    ("dataSets", "data set"),
)


def register(server: AmeLanguageServer) -> None:
    @server.handler(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, empty=list)
    async def document_symbol(
        ls: AmeLanguageServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol]:
        analysis = await ls.current_analysis(params.text_document.uri)
        if analysis is None or analysis.project is None:
            return []
        return await ls.in_worker(outline, ls, analysis)

    @server.handler(types.WORKSPACE_SYMBOL, empty=list)
    async def workspace_symbol(
        ls: AmeLanguageServer, params: types.WorkspaceSymbolParams
    ) -> list[types.SymbolInformation]:
        query = params.query.lower()
        await ls.warm_workspace()
        out = []
        for path, uri, facts in workspace_facts(ls):
            analysis = ls.index.analysis(path)
            lines = analysis.doc.lines if analysis is not None else []
            for d in facts.definitions:
                if query and not _fuzzy(query, d.name.lower()):
                    continue
                out.append(
                    types.SymbolInformation(
                        name=d.name,
                        kind=SYMBOL_KIND[d.kind],
                        location=types.Location(
                            uri=uri, range=ls.positions.range(lines, d.name_range)
                        ),
                        container_name=f"{d.project} ({d.kind})",
                    )
                )
        return out


def _fuzzy(query: str, name: str) -> bool:
    position = 0
    for char in query:
        position = name.find(char, position) + 1
        if position == 0:
            return False
    return True


def outline(server: AmeLanguageServer, analysis: Analysis) -> list[types.DocumentSymbol]:
    doc, lines = analysis.doc, analysis.doc.lines
    facts = facts_of(analysis)
    by_path = {d.path: d for d in facts.definitions}
    pos = server.positions

    def symbol(
        name: str,
        kind: types.SymbolKind,
        path: tuple,
        detail: str | None = None,
        children: list | None = None,
        select: Any = None,
    ) -> types.DocumentSymbol | None:
        node = doc.node_at(path)
        if node is None:
            return None
        rng = node_range(node)
        key = doc.key_node_at(path) if path and isinstance(path[-1], str) else None
        if key is not None:
            rng = type(rng)(key.start_mark.line, key.start_mark.column, rng.end_line, rng.end_col)
        sel = select or rng
        return types.DocumentSymbol(
            name=name or "(unnamed)",
            kind=kind,
            range=pos.range(lines, rng),
            selection_range=pos.range(lines, sel),
            detail=detail,
            children=children or None,
        )

    def steps(items: list[Any], base: tuple) -> list[types.DocumentSymbol]:
        out = []
        for i, step in enumerate(items):
            path = (*base, i)
            if isinstance(step, list):
                sym = symbol(
                    f"parallel ({len(step)} steps)",
                    types.SymbolKind.Array,
                    path,
                    children=steps(step, path),
                )
            else:
                ref = parse_ref(step.task_ref) if step.task_ref is not None else None
                label = step.name or (f"→ {ref}" if ref else f"step {i + 1}")
                sym = symbol(
                    label,
                    types.SymbolKind.Event,
                    path,
                    "pipeline step",
                    children=steps(step.pipeline or [], (*path, "pipeline")),
                )
            if sym is not None:
                out.append(sym)
        return out

    project = analysis.project
    assert project is not None
    result: list[types.DocumentSymbol] = []
    groups = {
        "tasks": project.task_list(),
        "templates": project.template_list(),
        "models": project.model_list(),
        "dataSets": project.data_set_list(),
    }
    for section, kind in SECTIONS:
        items = groups[section]
        if not items:
            continue
        children = []
        for obj in items:
            definition = by_path.get(obj.source_path)
            sub: list[types.DocumentSymbol] = []
            if kind == "task" and getattr(obj, "pipeline", None):
                sub = steps(obj.pipeline, (*obj.source_path, "pipeline"))
            sym = symbol(
                obj.name or "(unnamed)",
                SYMBOL_KIND[kind],
                obj.source_path,
                kind,
                sub,
                definition.name_range if definition else None,
            )
            if sym is not None:
                children.append(sym)
        section_sym = symbol(
            section, types.SymbolKind.Namespace, (section,), f"{len(items)} {kind}s", children
        )
        if section_sym is not None:
            result.append(section_sym)
    return result
