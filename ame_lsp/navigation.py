"""Go to definition, find references, rename (with prepareRename) across workspace files."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lsprotocol import types

from ame_core.spec.models import NAME_PATTERN
from ame_lsp.facts import Definition, Reference
from ame_lsp.hover import find_definition
from ame_lsp.names import facts_of, workspace_facts
from ame_lsp.safety import UserError

if TYPE_CHECKING:
    from ame_lsp.language_server import AmeLanguageServer

_NAME = re.compile(NAME_PATTERN)


def register(server: AmeLanguageServer) -> None:
    @server.handler(types.TEXT_DOCUMENT_DEFINITION)
    async def definition(
        ls: AmeLanguageServer, params: types.DefinitionParams
    ) -> list[types.Location] | None:
        await ls.current_analysis(params.text_document.uri)
        return goto_definition(ls, params.text_document.uri, params.position)

    @server.handler(types.TEXT_DOCUMENT_REFERENCES)
    async def references(
        ls: AmeLanguageServer, params: types.ReferenceParams
    ) -> list[types.Location] | None:
        await ls.current_analysis(params.text_document.uri)
        await ls.warm_workspace()
        target = _target(ls, params.text_document.uri, params.position)
        if target is None:
            return None
        return [loc for loc, _ in _occurrences(ls, target, params.context.include_declaration)]

    @server.handler(types.TEXT_DOCUMENT_PREPARE_RENAME)
    async def prepare_rename(
        ls: AmeLanguageServer, params: types.PrepareRenameParams
    ) -> types.PrepareRenamePlaceholder | None:
        await ls.current_analysis(params.text_document.uri)
        found = _at(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        item, lines = found
        return types.PrepareRenamePlaceholder(
            range=ls.positions.range(lines, item.name_range), placeholder=item.name
        )

    @server.handler(types.TEXT_DOCUMENT_RENAME)
    async def rename(
        ls: AmeLanguageServer, params: types.RenameParams
    ) -> types.WorkspaceEdit | None:
        new_name = params.new_name.strip()
        if not _NAME.match(new_name):
            raise UserError(
                f"'{new_name}' is not a valid name: letters, digits, '_' and '-', "
                "starting with a letter or digit, at most 63 characters"
            )
        await ls.current_analysis(params.text_document.uri)
        await ls.warm_workspace()
        target = _target(ls, params.text_document.uri, params.position)
        if target is None:
            return None
        changes: dict[str, list[types.TextEdit]] = {}
        for loc, _ in _occurrences(ls, target, True):
            changes.setdefault(loc.uri, []).append(
                types.TextEdit(range=loc.range, new_text=new_name)
            )
        return types.WorkspaceEdit(changes=changes)


def _at(
    server: AmeLanguageServer, uri: str, position: types.Position
) -> tuple[Definition | Reference, list[str]] | None:
    analysis = server.analysis(uri)
    if analysis is None or analysis.project is None:
        return None
    lines = analysis.doc.lines
    line, col = server.positions.from_client(lines, position)
    item = facts_of(analysis).at(line, col)
    return (item, lines) if item is not None else None


def _target(
    server: AmeLanguageServer, uri: str, position: types.Position
) -> tuple[str, str, str] | None:
    found = _at(server, uri, position)
    if found is None:
        return None
    item, _ = found
    return item.kind, item.project, item.name


def goto_definition(
    server: AmeLanguageServer, uri: str, position: types.Position
) -> list[types.Location] | None:
    found = _at(server, uri, position)
    if found is None:
        return None
    item, lines = found
    if isinstance(item, Definition):
        return [types.Location(uri=uri, range=server.positions.range(lines, item.name_range))]
    own = server.index.project_name(server.path_of(uri))
    target = find_definition(
        server, uri, item.kind, item.name, None if item.project == own else item.project
    )
    if target is None:
        return None
    path, definition, target_lines = target
    return [
        types.Location(
            uri=server.uri_of(path),
            range=server.positions.range(target_lines, definition.name_range),
        )
    ]


def _occurrences(
    server: AmeLanguageServer, target: tuple[str, str, str], include_declaration: bool
) -> list[tuple[types.Location, Definition | Reference]]:
    kind, project, name = target
    out: list[tuple[types.Location, Definition | Reference]] = []
    for path, uri, facts in workspace_facts(server):
        analysis = server.index.analysis(path)
        lines = analysis.doc.lines if analysis is not None else []
        if include_declaration and facts.project == project:
            for definition in facts.definitions:
                if (definition.kind, definition.name) == (kind, name):
                    out.append(
                        (
                            types.Location(
                                uri=uri, range=server.positions.range(lines, definition.name_range)
                            ),
                            definition,
                        )
                    )
        for ref in facts.references:
            if (ref.kind, ref.project, ref.name) == (kind, project, name):
                out.append(
                    (
                        types.Location(
                            uri=uri, range=server.positions.range(lines, ref.name_range)
                        ),
                        ref,
                    )
                )
    return out
