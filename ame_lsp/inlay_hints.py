"""Inlay hints: the resources a task inherits from its templates, and cron schedules in words."""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml
from lsprotocol import types

from ame_core.diagnostics import Range
from ame_core.document import node_range
from ame_core.resolve import ResolveError, iter_inline_tasks

if TYPE_CHECKING:
    from ame_core.engine import Analysis
    from ame_lsp.language_server import AmeLanguageServer


def register(server: AmeLanguageServer) -> None:
    @server.handler(
        types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False), empty=list
    )
    async def inlay_hint(
        ls: AmeLanguageServer, params: types.InlayHintParams
    ) -> list[types.InlayHint]:
        analysis = await ls.current_analysis(params.text_document.uri)
        if analysis is None or analysis.project is None:
            return []
        wanted = ls.positions.range_from_client(analysis.doc.lines, params.range)
        return await ls.in_worker(hints, ls, analysis, wanted)


def _within(rng: Range, wanted: Range) -> bool:
    return wanted.start_line <= rng.end_line and rng.start_line <= wanted.end_line


def hints(server: AmeLanguageServer, analysis: Analysis, wanted: Range) -> list[types.InlayHint]:
    doc, lines = analysis.doc, analysis.doc.lines
    out: list[types.InlayHint] = []

    def at_end_of(node: yaml.Node, label: str, tooltip: str | None = None) -> None:
        rng = node_range(node)
        line = rng.end_line if isinstance(node, yaml.ScalarNode) else rng.start_line
        col = rng.end_col if isinstance(node, yaml.ScalarNode) else len(lines[line].rstrip())
        out.append(
            types.InlayHint(
                position=server.positions.position(lines, line, col),
                label=label,
                kind=types.InlayHintKind.Type,
                padding_left=True,
                tooltip=tooltip,
            )
        )

    assert analysis.project is not None
    for task, _ in iter_inline_tasks(analysis.project):
        if task.from_template is None or analysis.resolver is None:
            continue
        ref_node = doc.node_at((*task.source_path, "fromTemplate"))
        if ref_node is None or not _within(node_range(ref_node), wanted):
            continue
        try:
            resolved = analysis.resolver.resolve_task(task)
        except ResolveError:
            continue
        inherited = [
            (key.split(".", 1)[1], origin)
            for key, origin in resolved.origins.items()
            if key.startswith("resources.") and origin.kind == "template"
        ]
        if not inherited:
            continue
        resources = resolved.task.resources or {}
        parts = ", ".join(f"{name}: {resources.get(name)}" for name, _ in inherited)
        sources = sorted(
            {
                o.name if o.project == resolved.project else f"{o.project}.{o.name}"
                for _, o in inherited
            }
        )
        at_end_of(ref_node, f"⇒ {parts}", f"resources inherited from {', '.join(sources)}")

    from ame_core.cron import CronError, describe_cron

    schedules = []
    for task, _ in iter_inline_tasks(analysis.project):
        if task.triggers is not None and task.triggers.schedule:
            schedules.append((*task.source_path, "triggers", "schedule"))
    for template in analysis.project.template_list():
        if template.triggers is not None and template.triggers.schedule:
            schedules.append((*template.source_path, "triggers", "schedule"))
    for model in analysis.project.model_list():
        for section in (model.monitoring, model.batch_inference):
            if section is not None and section.schedule:
                schedules.append((*section.source_path, "schedule"))
    for path in schedules:
        node = doc.node_at(path)
        if not isinstance(node, yaml.ScalarNode) or not _within(node_range(node), wanted):
            continue
        try:
            words = describe_cron(node.value)
        except CronError:
            continue
        at_end_of(node, f"⏱ {words}")
    return out
