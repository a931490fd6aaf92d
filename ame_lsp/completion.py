"""Completion: keys valid at the cursor, enum values, executor tags, resources and units,
references of every kind, Python versions on this machine, cron schedules.

The cursor's context comes from the lines (`context.cursor_at`), so completion works while
the document is mid-edit and not valid YAML.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import typing
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ame_core.spec.models import EXECUTOR_KINDS, AmeModel, Task, Template, field_by_alias
from ame_core.validate import resolve_annotation
from ame_lsp.context import (
    Cursor,
    ItemStep,
    KeyStep,
    cursor_at,
    literal_choices,
    shape_of,
    sibling_keys,
)
from ame_lsp.flow_context import flow_cursor
from ame_lsp.names import local_names, qualified_names

if TYPE_CHECKING:
    from ame_lsp.language_server import AmeLanguageServer

RESOURCE_NAMES = {
    "cpu": "CPU cores: `1`, `0.5` or `500m` (millicores)",
    "memory": "Memory in bytes: `512Mi`, `4Gi`, `1G`",
    "storage": "Ephemeral storage (becomes `ephemeral-storage` on a cluster): `10Gi`",
    "nvidia.com/gpu": "NVIDIA GPUs (whole numbers only)",
}
BYTE_UNITS = ["Ki", "Mi", "Gi", "Ti", "k", "M", "G", "T"]
CPU_UNITS = ["m"]
CRON_EXAMPLES = {
    "0 * * * *": "every hour",
    "0 2 * * *": "every day at 02:00",
    "0 2 * * 1-5": "at 02:00 on weekdays",
    "0 0 * * 0": "every Sunday at midnight",
    "*/15 * * * *": "every 15 minutes",
    "0 3 1 * *": "at 03:00 on the 1st of every month",
}
# Which reference a value names: (model, field) → kind.
REF_FIELDS = {
    "task_ref": "task",
    "from_template": "template",
    "data_sets": "data set",
    "data_set": "data set",
}
# Tasks in `tasks:` need a name even though inline tasks do not.
RECOMMENDED: dict[type, list[str]] = {Task: ["name", "executor"], Template: ["name"]}


def register(server: AmeLanguageServer) -> None:
    @server.handler(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(
            trigger_characters=["!", ":", " ", ".", "-"], resolve_provider=False
        ),
        empty=lambda: types.CompletionList(is_incomplete=False, items=[]),
    )
    def completion(ls: AmeLanguageServer, params: types.CompletionParams) -> types.CompletionList:
        result = complete(ls, params.text_document.uri, params.position)
        if "\r\n" in (ls.text(params.text_document.uri) or ""):
            _use_crlf(result.items)
        return result


def _use_crlf(items: list[types.CompletionItem]) -> None:
    """A CRLF document gets CRLF line breaks in what completion inserts (else mixed endings)."""

    def crlf(text: str) -> str:
        return text.replace("\r\n", "\n").replace("\n", "\r\n")

    for item in items:
        if item.insert_text:
            item.insert_text = crlf(item.insert_text)
        edit = item.text_edit
        if edit is not None:
            edit.new_text = crlf(edit.new_text)
        for extra in item.additional_text_edits or []:
            extra.new_text = crlf(extra.new_text)


def complete(server: AmeLanguageServer, uri: str, position: types.Position) -> types.CompletionList:
    empty = types.CompletionList(is_incomplete=False, items=[])
    text = server.text(uri)
    if text is None:
        return empty
    lines = text.split("\n")
    line, col = server.positions.from_client(lines, position)
    cursor = flow_cursor(lines, line, col) or cursor_at(lines, line, col)
    if cursor is None:
        return empty
    builder = _Builder(server, lines, cursor)
    builder.uri = uri
    if cursor.on == "value":
        builder.values()
        from ame_lsp.policy_info import filter_items

        builder.items = filter_items(server, uri, cursor, builder.items)  # team policies
    elif cursor.on == "item" or (cursor.info.dashes and not cursor.info.key):
        builder.item_values()  # `- ` in `dataSets:` takes a name; elsewhere an item's keys
    else:
        builder.keys()
    return types.CompletionList(is_incomplete=builder.incomplete, items=builder.items)


class _Builder:
    def __init__(self, server: AmeLanguageServer, lines: list[str], cursor: Cursor) -> None:
        self.server = server
        self.lines = lines
        self.cursor = cursor
        self.items: list[types.CompletionItem] = []
        self.uri = ""
        self.incomplete = False

    # --- helpers ----------------------------------------------------------------------------

    def _range(self, start: int | None = None, end: int | None = None) -> types.Range:
        c = self.cursor
        return self.server.positions.span(
            self.lines,
            c.line,
            c.word_start if start is None else start,
            c.word_end if end is None else end,
        )

    def add(
        self,
        label: str,
        insert: str,
        kind: types.CompletionItemKind,
        detail: str | None = None,
        doc: str | None = None,
        sort: str = "5",
        snippet: bool = False,
        start: int | None = None,
        filter_text: str | None = None,
    ) -> None:
        if snippet and not self.server.snippets:
            insert = _strip_snippet(insert)
            snippet = False
        self.items.append(
            types.CompletionItem(
                label=label,
                kind=kind,
                detail=detail,
                documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=doc)
                if doc
                else None,
                sort_text=f"{sort}_{label}",
                filter_text=filter_text if filter_text and filter_text != label else None,
                text_edit=types.TextEdit(range=self._range(start), new_text=insert),
                insert_text_format=types.InsertTextFormat.Snippet
                if snippet
                else types.InsertTextFormat.PlainText,
                insert_text_mode=types.InsertTextMode.AsIs,
            )
        )

    # --- keys -------------------------------------------------------------------------------

    def keys(self) -> None:
        c = self.cursor
        shape = c.shape()
        if shape is None:
            return
        present = (
            c.present if c.present is not None else sibling_keys(self.lines, c.line, c.key_col)
        )
        if (
            c.steps
            and isinstance(c.steps[-1], KeyStep)
            and c.steps[-1].key == "resources"
            and shape.dict_value is not None
        ):
            for name, doc in RESOURCE_NAMES.items():
                if name not in present:
                    self.add(name, f"{name}: ", types.CompletionItemKind.Property, "resource", doc)
            return
        indent = " " * c.key_col
        for model in shape.models:
            tagged = getattr(model, "AME_TAGGED_UNION", False)
            recommended = RECOMMENDED.get(model, [])
            in_list = bool(c.steps) and isinstance(c.steps[-1], ItemStep)
            for name, info in model.model_fields.items():
                key = info.alias or name
                if key in present:
                    continue
                required = info.is_required() or (name in recommended and in_list)
                sort = "0" if required else ("1" if name in recommended else "5")
                if tagged:
                    insert = _variant_snippet(model, key, indent, c.flow)
                    detail = f"{model.AME_KIND} (map spelling of !{key})"
                else:
                    insert = (_flow_key_snippet if c.flow else _key_snippet)(
                        model, name, info, indent
                    )
                    detail = ("required · " if required else "") + _describe(info.annotation)
                self.add(
                    key,
                    insert,
                    types.CompletionItemKind.Property,
                    detail,
                    info.description,
                    sort=sort,
                    snippet=True,
                )

    # --- values -----------------------------------------------------------------------------

    def values(self) -> None:
        c = self.cursor
        owner_shape = c.shape()
        shape = c.value_shape()
        key = c.key or ""
        value = c.info.value
        start = c.info.value_start if c.col >= c.info.value_start else c.col
        if (
            owner_shape is not None
            and owner_shape.dict_value is not None
            and c.steps
            and isinstance(c.steps[-1], KeyStep)
            and c.steps[-1].key == "resources"
        ):
            self.quantities(key, start)
            return
        if shape is None:
            return
        field = shape.field_name
        if field == "executor":
            self.executor_tags(start)
            return
        if field in ("task_ref", "from_template", "data_set") or (
            owner_shape
            and key == "taskRef"
            and any(m.__name__ == "DataSet" for m in owner_shape.models)
        ):
            kind = REF_FIELDS.get(field or "", "task")
            self.references(kind, start)
            return
        if field == "python_version":
            self.python_versions(start)
            return
        if field == "schedule":
            for expr, words in CRON_EXAMPLES.items():
                self.add(
                    expr,
                    f'"{expr}"',
                    types.CompletionItemKind.Value,
                    words,
                    sort="1",
                    start=start,
                    filter_text=f'"{expr}"',
                )
            return
        if field in ("size",):
            self.quantities("storage", start)
            return
        for choice in literal_choices(shape):
            self.add(
                choice, choice, types.CompletionItemKind.EnumMember, f"{key} value", start=start
            )
        if bool in shape.scalars:
            for choice in ("true", "false"):
                self.add(choice, choice, types.CompletionItemKind.Value, "boolean", start=start)
        del value

    def item_values(self) -> None:
        """`- ...` as a scalar list item: data set names in `dataSets`, steps in a pipeline."""
        c = self.cursor
        parent = c.steps[:-1] if c.steps and isinstance(c.steps[-1], ItemStep) else c.steps
        if parent and isinstance(parent[-1], KeyStep) and parent[-1].key == "dataSets":
            from ame_lsp.context import walk

            owner = walk(parent[:-1])
            if owner is not None and any(
                issubclass(m, Task | Template) or m in (Task, Template) for m in owner.models
            ):
                self.references("data set", c.info.key_start)
                return
        # A key being typed after `- ` (no colon yet): the item's keys.
        self.keys()

    def executor_tags(self, start: int) -> None:
        c = self.cursor
        indent = " " * (c.key_col + 2)
        for kind in EXECUTOR_KINDS:
            model = shape_of(_executor_variant(kind)).models[0]
            if c.flow:
                insert = f"!{kind} {{{_required_flow(model)}}}"
            else:
                body = _required_body(model, indent)
                insert = f"!{kind}" + (f"\n{body}" if body else "")
            self.add(
                f"!{kind}",
                insert,
                types.CompletionItemKind.EnumMember,
                f"executor {model.AME_KIND.split()[-1]}",
                model.__doc__,
                sort="0",
                snippet=True,
                start=start,
            )
        if not c.info.value.startswith("!") and not c.flow:
            for kind in EXECUTOR_KINDS:
                model = shape_of(_executor_variant(kind)).models[0]
                body = _required_body(model, indent + "  ")
                insert = f"\n{indent}{kind}:" + (f"\n{body}" if body else "")
                self.add(
                    f"{kind}: (map spelling)",
                    insert,
                    types.CompletionItemKind.Struct,
                    f"executor in map spelling, same as !{kind}",
                    model.__doc__,
                    sort="2",
                    snippet=True,
                    start=start,
                    filter_text=kind,
                )

    def references(self, kind: str, start: int) -> None:
        uri = self.server_uri
        typed = self.lines[self.cursor.line][start : self.cursor.col].strip("'\" ").lower()
        candidates = [
            (n, f"{kind} in this project", "0") for n in local_names(self.server, uri, kind)
        ]
        candidates += [
            (q, f"{kind} in project {p}", "3") for q, p in qualified_names(self.server, uri, kind)
        ]
        matching = [c for c in candidates if _matches(typed, c[0].lower())]
        if len(matching) > MAX_ITEMS:
            # Thousands of names: send the best few, the client asks again as the user types.
            matching.sort(key=lambda c: (not c[0].lower().startswith(typed), c[2], len(c[0]), c[0]))
            matching = matching[:MAX_ITEMS]
            self.incomplete = True
        for name, detail, sort in matching:
            self.add(name, name, _REF_KIND[kind], detail, sort=sort, start=start)

    def python_versions(self, start: int) -> None:
        for i, version in enumerate(available_pythons()):
            self.add(
                version,
                f'"{version}"',
                types.CompletionItemKind.Value,
                "Python on this machine",
                sort=f"{i:02d}",
                start=start,
                filter_text=f'"{version}',
            )

    def quantities(self, resource: str, start: int) -> None:
        value = self.cursor.info.value.strip("'\"")
        number = re.match(r"^\d+(?:\.\d+)?", value)
        units = CPU_UNITS if resource == "cpu" else ([] if "/" in resource else BYTE_UNITS)
        if number is None:
            examples = {
                "cpu": ["1", "2", "500m"],
                "memory": ["512Mi", "1Gi", "4Gi"],
                "storage": ["10Gi", "100Gi"],
            }
            for example in examples.get(resource, ["1"]):
                self.add(
                    example,
                    example,
                    types.CompletionItemKind.Value,
                    _quantity_words(resource, example),
                    start=start,
                )
            return
        for unit in units:
            text = number.group(0) + unit
            self.add(
                text,
                text,
                types.CompletionItemKind.Unit,
                _quantity_words(resource, text),
                start=start,
            )

    @property
    def server_uri(self) -> str:
        return self.uri


MAX_ITEMS = 200


def _matches(typed: str, name: str) -> bool:
    """Subsequence match, as editors filter (`trtsk` matches `train_task`)."""
    position = 0
    for char in typed:
        position = name.find(char, position) + 1
        if position == 0:
            return False
    return True


_REF_KIND = {
    "task": types.CompletionItemKind.Function,
    "template": types.CompletionItemKind.Class,
    "data set": types.CompletionItemKind.Variable,
    "model": types.CompletionItemKind.Module,
}


def _quantity_words(resource: str, text: str) -> str | None:
    from ame_core.quantity import QuantityError, describe_quantity

    try:
        return describe_quantity(resource, text)
    except QuantityError:
        return None


def _executor_variant(kind: str) -> Any:
    from ame_core.spec.models import Executor

    return Executor.model_fields[kind].annotation


def _strip_snippet(text: str) -> str:
    text = re.sub(r"\$\{\d+\|([^,|]*)[^}]*\}", r"\1", text)
    text = re.sub(r"\$\{\d+:([^}]*)\}", r"\1", text)
    return re.sub(r"\$\d+", "", text)


def _describe(annotation: Any) -> str:
    from ame_core.validate import _describe_annotation

    try:
        return _describe_annotation(annotation)
    except Exception:  # noqa: BLE001 - a hint only: no completion is lost for it
        return ""


def _placeholder(model: type[AmeModel], name: str, n: int) -> str:
    info = model.model_fields[name]
    if name == "python_version":
        return f'"${{{n}:3.11}}"'
    if info.examples and isinstance(info.examples[0], str):
        return f"${{{n}:{info.examples[0]}}}"
    return f"${n}"


def _required_body(model: type[AmeModel], indent: str, first: int = 1) -> str:
    lines = []
    n = first
    for name, info in model.model_fields.items():
        if info.is_required():
            lines.append(f"{indent}{info.alias or name}: {_placeholder(model, name, n)}")
            n += 1
    return "\n".join(lines)


def _required_flow(model: type[AmeModel], first: int = 1) -> str:
    """The required fields of a model as the inside of a flow mapping: `command: $1, ...`."""
    fields = [(n, i) for n, i in model.model_fields.items() if i.is_required()]
    return ", ".join(
        f"{info.alias or name}: {_placeholder(model, name, first + k)}"
        for k, (name, info) in enumerate(fields)
    )


def _variant_snippet(model: type[AmeModel], key: str, indent: str, flow: bool = False) -> str:
    variant = shape_of(model.model_fields[field_by_alias(model, key)[0]].annotation).models
    if flow:
        return f"{key}: {{{(_required_flow(variant[0]) if variant else '') or '$0'}}}"
    body = _required_body(variant[0], indent + "  ") if variant else ""
    return f"{key}:" + (f"\n{body}" if body else " $0")


def _scalar_snippet(key: str, shape: Any) -> str:
    """`key: ` with the value's choices (an enum, a boolean) to pick from."""
    choices = literal_choices(shape)
    if choices:
        return f"{key}: ${{1|{','.join(choices)}|}}"
    if bool in shape.scalars:
        return f"{key}: ${{1|true,false|}}"
    return f"{key}: $0"


def _flow_key_snippet(model: type[AmeModel], name: str, info: Any, indent: str) -> str:
    """A key inside `{...}`: one line, its value in flow style."""
    del indent  # one line: no indentation
    key = info.alias or name
    if name == "executor":
        choices = ",".join(EXECUTOR_KINDS)
        return (
            f'executor: !${{1|{choices}|}} {{pythonVersion: "${{2:3.11}}", '
            f"command: ${{3:python train.py}}}}"
        )
    shape = shape_of(info.annotation)
    if shape.models and not shape.scalars and shape.item is None:
        sub = shape.models[0]
        if getattr(sub, "AME_TAGGED_UNION", False):
            return f"{key}: $0"
        return f"{key}: {{{_required_flow(sub) or '$0'}}}"
    if shape.item is not None and not shape.scalars:
        return f"{key}: [$0]"
    if shape.dict_value is not None:
        return f"{key}: {{$0}}"
    return _scalar_snippet(key, shape)


def _key_snippet(model: type[AmeModel], name: str, info: Any, indent: str) -> str:
    key = info.alias or name
    inner = indent + "  "
    if name == "executor":
        choices = ",".join(EXECUTOR_KINDS)
        return (
            f'executor: !${{1|{choices}|}}\n{inner}pythonVersion: "${{2:3.11}}"\n'
            f"{inner}command: ${{3:python train.py}}"
        )
    if name == "resources":
        return f"resources:\n{inner}cpu: ${{1:1}}\n{inner}memory: ${{2:1Gi}}"
    shape = shape_of(info.annotation)
    if shape.models and not shape.scalars and shape.item is None:
        sub = shape.models[0]
        if getattr(sub, "AME_TAGGED_UNION", False):
            return f"{key}: $0"
        body = _required_body(sub, inner)
        return f"{key}:\n" + (body if body else f"{inner}$0")
    if shape.item is not None and not shape.scalars:
        items = shape_of(shape.item)
        if items.models:
            sub = items.models[0]
            wanted = [f for f, i in sub.model_fields.items() if i.is_required()] or [
                f for f in RECOMMENDED.get(sub, [])
            ]
            if sub is Task:
                wanted = ["name", "executor"]
            lines = []
            for i, field in enumerate(wanted):
                prefix = f"{inner}- " if i == 0 else f"{inner}  "
                if field == "executor":
                    lines.append(
                        f"{prefix}executor: !${{{i + 1}|{','.join(EXECUTOR_KINDS)}|}}\n"
                        f'{inner}    pythonVersion: "${{{i + 2}:3.11}}"\n'
                        f"{inner}    command: ${{{i + 3}:python train.py}}"
                    )
                else:
                    sub_info = sub.model_fields[field]
                    lines.append(f"{prefix}{sub_info.alias or field}: ${i + 1}")
            return f"{key}:\n" + ("\n".join(lines) if lines else f"{inner}- $0")
        return f"{key}:\n{inner}- $0"
    if shape.dict_value is not None:
        return f"{key}:\n{inner}$0"
    return _scalar_snippet(key, shape)


@functools.lru_cache(maxsize=1)
def available_pythons() -> list[str]:
    """Python versions installed here (PATH, pyenv, uv), newest first."""
    found = {f"{sys.version_info.major}.{sys.version_info.minor}"}
    pattern = re.compile(r"^python(3\.\d+)$")
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    home = os.path.expanduser("~")
    for extra in (
        os.path.join(home, ".pyenv", "versions"),
        os.path.join(home, ".local", "share", "uv", "python"),
    ):
        if os.path.isdir(extra):
            for entry in os.listdir(extra):
                match = re.match(r"^(?:cpython-)?(3\.\d+)", entry)
                if match:
                    found.add(match.group(1))
    for directory in dirs:
        try:
            for entry in os.listdir(directory):
                match = pattern.match(entry)
                if match:
                    found.add(match.group(1))
        except OSError:
            continue
    return sorted(found, key=lambda v: tuple(int(p) for p in v.split(".")), reverse=True)


del typing, resolve_annotation
