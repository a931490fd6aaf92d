"""Code actions: every fix the engine attaches to a diagnostic, plus refactors — executor tag ↔
map spelling, extract a task's resources into a new template, inline a `taskRef`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml
from lsprotocol import types

from ame_core.diagnostics import Range
from ame_core.document import Path, custom_tag, last_content_line, node_range
from ame_core.resolve import iter_inline_tasks, parse_ref
from ame_core.spec.models import EXECUTOR_KINDS, Task
from ame_core.validate import EXECUTOR_TAGS
from ame_lsp.diagnostics import to_lsp

if TYPE_CHECKING:
    from ame_core.engine import Analysis
    from ame_lsp.language_server import AmeLanguageServer

REFACTOR_EXECUTOR = types.CodeActionKind.RefactorRewrite
REFACTOR_EXTRACT = types.CodeActionKind.RefactorExtract
REFACTOR_INLINE = types.CodeActionKind.RefactorInline


def register(server: AmeLanguageServer) -> None:
    @server.handler(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[
                types.CodeActionKind.QuickFix,
                REFACTOR_EXECUTOR,
                REFACTOR_EXTRACT,
                REFACTOR_INLINE,
            ]
        ),
        empty=list,
    )
    async def code_action(
        ls: AmeLanguageServer, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        await ls.current_analysis(params.text_document.uri)
        return actions(ls, params)


def actions(server: AmeLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    analysis = server.analysis(uri)
    if analysis is None:
        return []
    lines = analysis.doc.lines
    wanted = server.positions.range_from_client(lines, params.range)
    only = params.context.only
    out: list[types.CodeAction] = []
    if not only or any(k.startswith("quickfix") for k in only):
        out.extend(quick_fixes(server, uri, analysis, wanted))
    if not only or any(k.startswith("refactor") for k in only):
        for builder in (convert_executor, extract_resources, inline_task_ref):
            try:
                action = builder(server, uri, analysis, wanted)
            except Exception as exc:  # noqa: BLE001 - one refactor's bug must not hide the others
                from ame_lsp.safety import report_failure

                report_failure(server, f"codeAction {builder.__name__}", exc)
                continue
            if action is not None and (not only or any(action.kind.startswith(k) for k in only)):
                out.append(action)
    return out


def _overlaps(a: Range, b: Range) -> bool:
    return (a.start_line, a.start_col) <= (b.end_line, b.end_col) and (
        b.start_line,
        b.start_col,
    ) <= (
        a.end_line,
        a.end_col,
    )


def _edit(
    server: AmeLanguageServer, uri: str, lines: list[str], edits: list[tuple[Range, str]]
) -> types.WorkspaceEdit:
    return types.WorkspaceEdit(
        changes={
            uri: [
                types.TextEdit(range=server.positions.range(lines, r), new_text=t) for r, t in edits
            ]
        }
    )


def quick_fixes(
    server: AmeLanguageServer, uri: str, analysis: Analysis, wanted: Range
) -> list[types.CodeAction]:
    lines = analysis.doc.lines
    out = []
    for diagnostic in analysis.diagnostics:
        if not diagnostic.fixes or not _overlaps(diagnostic.range, wanted):
            continue
        lsp_diagnostic = to_lsp(server, lines, diagnostic)
        for fix in diagnostic.fixes:
            out.append(
                types.CodeAction(
                    title=fix.title,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[lsp_diagnostic],
                    is_preferred=fix.preferred,
                    edit=_edit(server, uri, lines, [(e.range, e.new_text) for e in fix.edits]),
                )
            )
    return out


# --- helpers over the node tree ----------------------------------------------------------------


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _path_at(analysis: Analysis, rng: Range) -> Path:
    path, _, _ = analysis.doc.path_at(rng.start_line, rng.start_col)
    return path


def _task_at(analysis: Analysis, rng: Range) -> Task | None:
    """The innermost task object whose text contains the cursor."""
    if analysis.project is None:
        return None
    path = _path_at(analysis, rng)
    best: Task | None = None
    for task, _ in iter_inline_tasks(analysis.project):
        sp = task.source_path
        if path[: len(sp)] == sp and (best is None or len(sp) > len(best.source_path)):
            best = task
    return best


# --- executor: tag ↔ map spelling --------------------------------------------------------------


def convert_executor(
    server: AmeLanguageServer, uri: str, analysis: Analysis, wanted: Range
) -> types.CodeAction | None:
    doc, lines = analysis.doc, analysis.doc.lines
    path = _path_at(analysis, wanted)
    if "executor" not in path:
        return None
    exec_path = path[: len(path) - path[::-1].index("executor")]
    node = doc.node_at(exec_path)
    key = doc.key_node_at(exec_path)
    if node is None or key is None:
        return None
    tag = custom_tag(node)
    if tag in EXECUTOR_TAGS:
        kind = tag[1:] if tag != "!pipEnv" else "pipenv"
        return _tag_to_map(server, uri, lines, analysis, node, key, tag, kind)
    if isinstance(node, yaml.MappingNode) and tag is None and len(node.value) == 1:
        variant_key, body = node.value[0]
        kind = variant_key.value
        if kind in EXECUTOR_KINDS or kind == "pipEnv":
            return _map_to_tag(server, uri, lines, node, key, variant_key, body, kind)
    return None


def _tag_to_map(server, uri, lines, analysis, node, key, tag, kind) -> types.CodeAction | None:
    tag_rng = analysis.doc.tag_range_of(node)
    if tag_rng is None:
        return None
    title = f"Write the executor as a map (`{kind}:` instead of `{tag}`)"
    if isinstance(node, yaml.ScalarNode) and node.value == "":
        edits = [(tag_rng, "{" + kind + ": {}}")]
    elif getattr(node, "flow_style", False):
        body = node_range(node)
        text = _text(lines, body)
        edits = [
            (
                Range(tag_rng.start_line, tag_rng.start_col, body.end_line, body.end_col),
                "{" + f"{kind}: {text}" + "}",
            )
        ]
    elif isinstance(node, yaml.MappingNode) and node.value:
        first = node.value[0][0].start_mark
        body_indent = first.column
        end = last_content_line(lines, node)
        colon_line = key.end_mark.line
        colon_col = lines[colon_line].index(":", key.end_mark.column) + 1
        body_lines = [("  " + ln) if ln.strip() else ln for ln in lines[first.line : end + 1]]
        new = "\n" + " " * body_indent + f"{kind}:\n" + "\n".join(body_lines)
        edits = [(Range(colon_line, colon_col, end, len(lines[end])), new)]
    else:
        return None
    return types.CodeAction(
        title=title, kind=REFACTOR_EXECUTOR, edit=_edit(server, uri, lines, edits)
    )


def _map_to_tag(server, uri, lines, node, key, variant_key, body, kind) -> types.CodeAction | None:
    title = f"Write the executor as a tag (`!{kind}` instead of `{kind}:`)"
    if getattr(node, "flow_style", False):
        whole = node_range(node)
        inner = (
            _text(lines, node_range(body))
            if not (isinstance(body, yaml.ScalarNode) and body.value == "")
            else "{}"
        )
        edits = [(whole, f"!{kind} {inner}")]
    elif isinstance(body, yaml.MappingNode) and body.value and not body.flow_style:
        colon_line = key.end_mark.line
        colon_col = lines[colon_line].index(":", key.end_mark.column) + 1
        first = body.value[0][0].start_mark
        end = last_content_line(lines, body)
        shift = first.column - variant_key.start_mark.column
        body_lines = [
            ln[shift:] if ln[:shift].strip() == "" else ln.lstrip()
            for ln in lines[first.line : end + 1]
        ]
        new = f" !{kind}\n" + "\n".join(body_lines)
        edits = [(Range(colon_line, colon_col, end, len(lines[end])), new)]
    elif isinstance(body, yaml.MappingNode):
        colon_line = key.end_mark.line
        colon_col = lines[colon_line].index(":", key.end_mark.column) + 1
        whole = node_range(node)
        end = last_content_line(lines, node)
        edits = [
            (
                Range(colon_line, colon_col, end, len(lines[end])),
                f" !{kind} {_text(lines, node_range(body))}",
            )
        ]
        del whole
    else:
        return None
    return types.CodeAction(
        title=title, kind=REFACTOR_EXECUTOR, edit=_edit(server, uri, lines, edits)
    )


def _text(lines: list[str], rng: Range) -> str:
    if rng.start_line == rng.end_line:
        return lines[rng.start_line][rng.start_col : rng.end_col]
    parts = [lines[rng.start_line][rng.start_col :]]
    parts.extend(lines[rng.start_line + 1 : rng.end_line])
    parts.append(lines[rng.end_line][: rng.end_col])
    return "\n".join(parts)


# --- extract resources into a template ----------------------------------------------------------


def extract_resources(
    server: AmeLanguageServer, uri: str, analysis: Analysis, wanted: Range
) -> types.CodeAction | None:
    doc, lines = analysis.doc, analysis.doc.lines
    task = _task_at(analysis, wanted)
    if task is None or not task.resources or analysis.project is None:
        return None
    res_key = doc.key_node_at((*task.source_path, "resources"))
    res_node = doc.node_at((*task.source_path, "resources"))
    if res_key is None or not isinstance(res_node, yaml.MappingNode) or res_node.flow_style:
        return None
    existing = {t.name for t in analysis.project.template_list()}
    base = f"{task.name or 'task'}_resources"
    name, n = base, 2
    while name in existing:
        name, n = f"{base}_{n}", n + 1
    key_line, key_col = res_key.start_mark.line, res_key.start_mark.column
    if lines[key_line][:key_col].strip():
        return None  # `- resources:` as the item's first key: leave it to the user
    end = last_content_line(lines, res_node)
    body = [ln for ln in lines[key_line + 1 : end + 1]]
    body_indent = min((_indent_of(ln) for ln in body if ln.strip()), default=key_col + 2)
    edits: list[tuple[Range, str]] = []
    inherited = ""
    if task.from_template is not None:
        ref_node = doc.node_at((*task.source_path, "fromTemplate"))
        if isinstance(ref_node, yaml.ScalarNode):
            inherited = str(parse_ref(task.from_template) or "")
            edits.append((node_range(ref_node), name))
        else:
            return None
        replacement = ""
    else:
        replacement = " " * key_col + f"fromTemplate: {name}"
    # Remove the resources block (replace by `fromTemplate:` when the task had none).
    if replacement:
        edits.append((Range(key_line, 0, end, len(lines[end])), replacement))
    else:
        edits.append((Range(key_line, 0, end + 1, 0), ""))
    # The new template, at the end of `templates:` or as a new section before `tasks:`.
    templates = analysis.project.template_list()
    if templates:
        last = doc.node_at(templates[-1].source_path)
        assert last is not None
        item_col = _item_dash_col(lines, last)
        insert_line = last_content_line(lines, last) + 1
        prefix = ""
    else:
        tasks_key = doc.key_node_at(("tasks",))
        insert_line = tasks_key.start_mark.line if tasks_key is not None else len(lines)
        item_col = 2
        prefix = "templates:\n"
    item = " " * item_col
    fields = [f"{item}- name: {name}"]
    if inherited:
        fields.append(f"{item}  fromTemplate: {inherited}")
    fields.append(f"{item}  resources:")
    fields += [" " * (item_col + 4) + ln[body_indent:] if ln.strip() else "" for ln in body]
    block = prefix + "\n".join(fields) + "\n" + ("\n" if prefix else "")
    edits.append((Range(insert_line, 0, insert_line, 0), block))
    edits.sort(key=lambda e: (e[0].start_line, e[0].start_col), reverse=True)
    return types.CodeAction(
        title=f"Extract resources of '{task.name or 'task'}' into template '{name}'",
        kind=REFACTOR_EXTRACT,
        edit=_edit(server, uri, lines, edits),
    )


def _item_dash_col(lines: list[str], node: yaml.Node) -> int:
    line = lines[node.start_mark.line]
    dash = line.rfind("-", 0, node.start_mark.column)
    return dash if dash >= 0 else max(node.start_mark.column - 2, 0)


# --- inline a taskRef ---------------------------------------------------------------------------


def inline_task_ref(
    server: AmeLanguageServer, uri: str, analysis: Analysis, wanted: Range
) -> types.CodeAction | None:
    doc, lines = analysis.doc, analysis.doc.lines
    task = _task_at(analysis, wanted)
    if task is None or task.task_ref is None or analysis.resolver is None or analysis.index is None:
        return None
    ref = parse_ref(task.task_ref)
    if ref is None or (ref.project and ref.project != analysis.index.name):
        return None  # other projects' tasks may name their own templates: not inlined
    target = analysis.index.tasks.get(ref.name)
    if target is None or target is task:
        return None
    ref_key = doc.key_node_at((*task.source_path, "taskRef"))
    ref_value = doc.node_at((*task.source_path, "taskRef"))
    target_node = doc.node_at(target.source_path)
    if (
        ref_key is None
        or not isinstance(ref_value, yaml.ScalarNode)
        or not isinstance(target_node, yaml.MappingNode)
        or target_node.flow_style
    ):
        return None
    if ref_key.start_mark.line != ref_value.end_mark.line:
        return None
    # The target's entries except its name, re-indented to where `taskRef:` stands.
    entries = []
    for k, v in target_node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == "name" and task.name is None:
            continue  # the step stays unnamed; the name belongs to the task in `tasks:`
        if isinstance(k, yaml.ScalarNode) and k.value == "name":
            continue
        start = k.start_mark
        end = last_content_line(lines, v) if not isinstance(v, yaml.ScalarNode) else v.end_mark.line
        chunk = [lines[start.line][start.column :], *lines[start.line + 1 : end + 1]]
        entries.append((start.column, chunk))
    if not entries:
        return None
    col = ref_key.start_mark.column
    out_lines: list[str] = []
    for src_col, chunk in entries:
        out_lines.append(chunk[0])
        for ln in chunk[1:]:
            out_lines.append(" " * col + ln[src_col:] if ln[:src_col].strip() == "" else ln)
    text = ("\n" + " " * col).join([out_lines[0]]) + "".join("\n" + ln for ln in out_lines[1:])
    line = ref_key.start_mark.line
    rng = Range(line, col, line, ref_value.end_mark.column)
    return types.CodeAction(
        title=f"Inline task '{ref.name}' here",
        kind=REFACTOR_INLINE,
        edit=_edit(server, uri, lines, [(rng, text)]),
    )


del Any, re
