"""Hover: key documentation from the schema, reference previews, a task merged with its
templates (and where each value came from), quantities in plain units, cron in words."""

from __future__ import annotations

import contextvars
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ame_core.resolve import ResolveError, iter_inline_tasks, parse_ref
from ame_core.spec.models import AmeModel, Task, field_by_alias
from ame_lsp.completion import RESOURCE_NAMES
from ame_lsp.context import Cursor, ItemStep, KeyStep, cursor_at, shape_of, tree_cursor, walk
from ame_lsp.names import facts_of

if TYPE_CHECKING:
    from ame_core.engine import Analysis
    from ame_lsp.language_server import AmeLanguageServer

PREVIEW_LINES = 25
_ALLOW_ANALYSIS: contextvars.ContextVar[bool] = contextvars.ContextVar("allow", default=True)


def _analysis_of(server: AmeLanguageServer, path: str) -> Analysis | None:
    """A file's analysis; in the quick first pass of a hover only if it is ready."""
    if not _ALLOW_ANALYSIS.get():
        cached = server.index.cached_analysis(path)
        if cached is None or cached.text != server.index.text(path):
            raise NeedsAnalysis
        return cached
    return server.index.analysis(path)


def register(server: AmeLanguageServer) -> None:
    @server.handler(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: AmeLanguageServer, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        try:
            # Keys, quantities and schedules need no analysis: answer at once.
            return hover_at(ls, uri, params.position, need_analysis=False)
        except NeedsAnalysis:
            await ls.current_analysis(uri)
            return hover_at(ls, uri, params.position)


class NeedsAnalysis(Exception):
    """This hover needs the file's full analysis, which is not ready yet."""


def hover_at(
    server: AmeLanguageServer, uri: str, position: types.Position, need_analysis: bool = True
) -> types.Hover | None:
    text = server.text(uri)
    if text is None:
        return None
    lines = text.split("\n")
    line, col = server.positions.from_client(lines, position)
    cursor = None
    analysis = server.index.cached_analysis(server.path_of(uri))
    if analysis is not None and analysis.text == text:
        cursor = tree_cursor(analysis.doc, line, col)  # exact, and knows flow style
    if cursor is None:
        cursor = cursor_at(lines, line, col)
    if cursor is None or (cursor.info.blank):
        return None
    token = _ALLOW_ANALYSIS.set(need_analysis)
    try:
        result = _hover(server, uri, lines, cursor)
    finally:
        _ALLOW_ANALYSIS.reset(token)
    # A value a team policy constrains: its rules and their files, after the usual text.
    from ame_lsp.policy_info import hover_text

    rules = hover_text(server, uri, cursor)
    if rules is not None:
        span = (cursor.info.value_start, cursor.info.value_start + len(cursor.info.value))
        result = (f"{result[0]}\n\n---\n\n{rules}", result[1]) if result else (rules, span)
    if result is None:
        return None
    markdown, (start, end) = result
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown),
        range=server.positions.span(lines, line, start, end),
    )


def _hover(
    server: AmeLanguageServer, uri: str, lines: list[str], c: Cursor
) -> tuple[str, tuple[int, int]] | None:
    info = c.info
    if c.on == "key" and info.key is not None and info.key_start <= c.col <= info.key_end:
        doc = key_doc(c.steps, info.key)
        return (doc, (info.key_start, info.key_end)) if doc else None
    if c.on == "item":
        parent = [s for s in c.steps if isinstance(s, KeyStep)]
        if parent and parent[-1].key == "dataSets":
            return _reference(
                server,
                uri,
                "data set",
                info.value,
                (info.key_start, info.key_start + len(info.value)),
            )
        return None
    if c.on != "value" or c.key is None:
        return None
    value = info.value
    span = (info.value_start, info.value_start + len(value))
    bare = value.strip("'\"")
    owner = c.shape()
    in_resources = (
        bool(c.steps) and isinstance(c.steps[-1], KeyStep) and c.steps[-1].key == "resources"
    )
    if in_resources and owner is not None and owner.dict_value is not None:
        return _quantity(c.key, bare), span
    shape = c.value_shape()
    field = shape.field_name if shape is not None else None
    if value.startswith("!"):
        tag = value.split()[0]
        doc = _tag_doc(shape, tag)
        if doc:
            return doc, (info.value_start, info.value_start + len(tag))
    if field == "size":
        return _quantity("storage", bare), span
    if field == "schedule":
        return _cron(bare), span
    if field == "task_ref" or (c.key == "taskRef" and field is None):
        return _reference(server, uri, "task", bare, span)
    if field == "from_template":
        return _reference(server, uri, "template", bare, span)
    if field == "data_set":
        return _reference(server, uri, "data set", bare, span)
    if field == "name" and c.key == "name":
        merged = _merged_task(server, uri, c)
        if merged:
            return merged, span
    doc = key_doc(c.steps, c.key)
    return (doc, span) if doc else None


# --- keys ---------------------------------------------------------------------------------------


def key_doc(steps: list[Any], key: str) -> str | None:
    shape = walk(steps)
    if shape is None:
        return None
    if (
        steps
        and isinstance(steps[-1], KeyStep)
        and steps[-1].key == "resources"
        and shape.dict_value is not None
    ):
        doc = RESOURCE_NAMES.get(key)
        return (
            f"**{key}** (resource)\n\n{doc}"
            if doc
            else f"**{key}**: extended resource (whole numbers)"
        )
    for model in shape.models:
        found = field_by_alias(model, key)
        if found is not None:
            name, info = found
            kind = _annotation_words(info.annotation)
            required = "required" if info.is_required() else "optional"
            text = f"**{key}** ({model.AME_KIND}, {required}): {kind}\n\n{info.description or ''}"
            return text.strip()
        if key in model.AME_ALIASES:
            target = model.AME_ALIASES[key]
            return (
                f"**{key}** is an older spelling of `{target}` ({model.AME_KIND}); it still works, "
                f"but `{target}` is the canonical key."
            )
        if key in model.AME_LEGACY:
            return f"**{key}** is no longer read: {model.AME_LEGACY[key]}"
    return None


def _annotation_words(annotation: Any) -> str:
    from ame_core.validate import _describe_annotation

    try:
        return _describe_annotation(annotation)
    except Exception:  # noqa: BLE001 - a hint only: the hover still shows
        return ""


def _tag_doc(shape: Any, tag: str) -> str | None:
    if shape is None:
        return None
    for model in shape.models:
        if getattr(model, "AME_TAGGED_UNION", False):
            name = model.AME_ALIASES.get(tag[1:], tag[1:])
            found = field_by_alias(model, name)
            if found is None:
                continue
            variant = shape_of(found[1].annotation).models
            if not variant:
                continue
            fields = []
            for fname, finfo in variant[0].model_fields.items():
                req = " (required)" if finfo.is_required() else ""
                fields.append(f"- `{finfo.alias or fname}`{req}: {finfo.description or ''}")
            return f"**{tag}** ({model.AME_KIND})\n\n{variant[0].__doc__ or ''}\n\n" + "\n".join(
                fields
            )
    return None


# --- values -------------------------------------------------------------------------------------


def _quantity(resource: str, value: str) -> str:
    from ame_core.quantity import QuantityError, describe_quantity

    try:
        return f"**{resource}**: {describe_quantity(resource, value)}"
    except QuantityError as exc:
        return f"**{resource}**: `{value}` is not a valid quantity: {exc}"


def _cron(expr: str) -> str:
    from ame_core.cron import CronError, describe_cron, next_runs

    try:
        words = describe_cron(expr)
        runs = next_runs(expr, datetime.now().astimezone(), 3)
    except CronError as exc:
        return f"`{expr}`: not a valid cron schedule: {exc}"
    when = "\n".join(f"- {run:%a %Y-%m-%d %H:%M %Z}".rstrip() for run in runs)
    return f"**schedule** `{expr}`: {words}\n\nNext runs:\n{when}"


def _reference(
    server: AmeLanguageServer, uri: str, kind: str, value: str, span: tuple[int, int]
) -> tuple[str, tuple[int, int]] | None:
    ref = parse_ref(value)
    if ref is None or not ref.name:
        return None
    target = find_definition(server, uri, kind, ref.name, ref.project)
    if target is None:
        return f"**{kind} {ref}**: not found in the workspace", span
    path, definition, lines = target
    snippet = _item_lines(lines, definition.range)
    more = "\n# …" if len(snippet) > PREVIEW_LINES else ""
    snippet = _dedent(snippet[:PREVIEW_LINES])
    where = _where(path)
    text = (
        f"**{kind} {definition.project}.{definition.name}** — {where}, line "
        f"{definition.name_range.start_line + 1}\n\n```yaml\n"
        + "\n".join(snippet).rstrip()
        + more
        + "\n```"
    )
    return text, span


def _where(path: str) -> str:
    """`folder/ame.yml` for a file; an untitled document's URI as it is."""
    import os

    if "://" in path or path.startswith("untitled:"):
        return path
    return f"{os.path.basename(os.path.dirname(path)) or path}/{os.path.basename(path)}"


def _item_lines(lines: list[str], rng: Any) -> list[str]:
    """The definition's own lines: its range ends where the next item starts (the parser's end
    mark), which is not part of it; trailing blank lines go too."""
    end = rng.end_line if rng.end_col > 0 else rng.end_line - 1
    out = [x.rstrip("\r") for x in lines[rng.start_line : max(end, rng.start_line) + 1]]
    first = out[0] if out else ""
    indent = len(first) - len(first.lstrip(" "))
    if len(out) > 1:
        last = out[-1]
        if last.strip() and len(last) - len(last.lstrip(" ")) <= indent:
            out.pop()  # the next sibling's first line
    while len(out) > 1 and not out[-1].strip():
        out.pop()
    return out


def _dedent(lines: list[str]) -> list[str]:
    """Shift to column 0, keeping an item's `- ` (the preview is the item as written)."""
    if not lines:
        return lines
    widths = [len(x) - len(x.lstrip(" ")) for x in lines if x.strip()]
    cut = min(widths) if widths else 0
    return [x[cut:] for x in lines]


def find_definition(
    server: AmeLanguageServer, uri: str, kind: str, name: str, project: str | None
) -> tuple[str, Any, list[str]] | None:
    """(path, Definition, lines of that file) for a reference's target."""
    here = server.path_of(uri)
    analysis = _usable_analysis(server, uri)
    own = analysis.project.project if analysis is not None and analysis.project else None
    if project is None or project == own:
        if analysis is None:
            return None
        definition = facts_of(analysis).definition(kind, name)
        return (here, definition, analysis.doc.lines) if definition else None
    path = server.index.path_of_project(project, exclude=here)
    if path is None:
        return None
    other = _analysis_of(server, path)
    if other is None:
        return None
    definition = facts_of(other).definition(kind, name)
    return (path, definition, other.doc.lines) if definition else None


def _usable_analysis(server: AmeLanguageServer, uri: str) -> Analysis | None:
    analysis = _analysis_of(server, server.path_of(uri))
    if analysis is not None and analysis.project is None:
        return server.stale_analysis(uri) or analysis
    return analysis


# --- a task merged with its templates ---------------------------------------------------------


def _merged_task(server: AmeLanguageServer, uri: str, c: Cursor) -> str | None:
    analysis = _analysis_of(server, server.path_of(uri))
    if analysis is None or analysis.project is None or analysis.resolver is None:
        return None
    path, _, _ = analysis.doc.path_at(c.line, c.info.value_start)
    if not path or path[-1] != "name":
        return None
    owner_path = path[:-1]
    task = next(
        (t for t, _ in iter_inline_tasks(analysis.project) if t.source_path == owner_path), None
    )
    if task is None or (task.from_template is None and task.task_ref is None):
        return None
    try:
        resolved = analysis.resolver.resolve_task(task)
    except ResolveError as exc:
        return f"**task {task.name}**: cannot be resolved: {exc}"
    return render_resolved(resolved)


def render_resolved(resolved: Any) -> str:
    merged: Task = resolved.task
    rows: list[tuple[str, str, str]] = []

    def origin(key: str) -> str:
        found = resolved.origins.get(key)
        return str(found) if found is not None else ""

    if merged.executor is not None:
        try:
            variant = merged.executor.variant
            detail = f"!{merged.executor.kind}" + "".join(
                f" {k}={getattr(variant, n)!s}"
                for n, k in (("python_version", "pythonVersion"), ("command", "command"))
                if getattr(variant, n, None)
            )
        except ValueError:
            detail = "(no variant)"
        rows.append(("executor", detail, origin("executor")))
    for key, value in (merged.resources or {}).items():
        rows.append((f"resources.{key}", str(value), origin(f"resources.{key}")))
    for env in merged.environment or []:
        rows.append((f"environment.{env.key}", str(env.val), origin(f"environment.{env.key}")))
    for secret in merged.secrets or []:
        try:
            inject = secret.variant.inject_as
        except ValueError:
            continue
        rows.append((f"secrets.{inject}", "(secret)", origin(f"secrets.{inject}")))
    if merged.data_sets:
        rows.append(
            ("dataSets", ", ".join(str(parse_ref(d)) for d in merged.data_sets), origin("dataSets"))
        )
    if merged.artifacts is not None and merged.artifacts.paths:
        rows.append(("artifacts.paths", ", ".join(merged.artifacts.paths), origin("artifacts")))
    if merged.triggers is not None and merged.triggers.schedule:
        rows.append(("triggers.schedule", merged.triggers.schedule, origin("triggers")))
    table = "\n".join(f"| `{k}` | `{v}` | {o} |" for k, v, o in rows)
    steps = f"\n\npipeline of {len(resolved.steps)} steps" if resolved.steps else ""
    return (
        f"**task {resolved.project}.{resolved.name}** as it runs (templates merged)\n\n"
        f"| field | value | from |\n|---|---|---|\n{table}{steps}"
    )


del AmeModel, ItemStep
