"""Schema checks on the JSON view: types, required fields, unknown keys, aliases, legacy keys, tags.

The walk is driven by the pydantic models' fields (`ame_core.spec`), so a field is declared once.
It reports each problem at the key or value that is wrong, and builds the typed objects itself
(`model_construct`) from what is valid, so one bad task never hides the checks of the others.
Every object built carries its JSON path (`source_path`) for the checks that come after.
"""

from __future__ import annotations

import difflib
import functools
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, Literal

import yaml
from pydantic.fields import FieldInfo
from typing_extensions import TypeAliasType

from ame_core.diagnostics import MAX_DIAGNOSTICS, Diagnostic, Fix, Range, Severity, TextEdit
from ame_core.document import (
    Path,
    YamlDocument,
    YamlFloat,
    YamlInt,
    custom_tag,
    first_line_range,
    node_range,
)
from ame_core.spec import models as spec_models
from ame_core.spec.models import (
    EXECUTOR_KINDS,
    AmeModel,
    Project,
    Task,
    field_by_alias,
    file_keys,
)

_INVALID = object()

EXECUTOR_TAGS = {f"!{kind}" for kind in EXECUTOR_KINDS} | {"!pipEnv"}
SECRET_TAGS = {"!ame", "!vault"}


@functools.cache
def resolve_annotation(annotation: Any) -> Any:
    """The type behind a model's annotation: type aliases (`Step`) and the strings they hold,
    evaluated in the module that declared them."""
    module = spec_models
    while True:
        if isinstance(annotation, TypeAliasType):
            module = sys.modules[annotation.__module__]
            annotation = annotation.__value__
        elif isinstance(annotation, typing.ForwardRef):
            annotation = annotation.__forward_arg__
        elif isinstance(annotation, str):
            annotation = _evaluate(annotation, module)
        else:
            return annotation


def _evaluate(text: str, module: types.ModuleType) -> Any:
    def holder() -> None: ...

    holder.__annotations__ = {"value": text}
    return typing.get_type_hints(holder, globalns=vars(module), include_extras=True)["value"]


def _origin(annotation: Any) -> Any:
    """`typing.get_origin`, with `X | Y` spelled as `typing.Union` like `Union[X, Y]`."""
    origin = typing.get_origin(annotation)
    return typing.Union if origin is types.UnionType else origin


@functools.cache
def _union_arms(annotation: Any) -> tuple[tuple[Any, ...], bool]:
    """A union's arms other than None, and whether None is one of them."""
    args = typing.get_args(annotation)
    arms = tuple(a for a in args if a is not type(None))
    return arms, len(arms) < len(args)


def _json_kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _describe_annotation(annotation: Any) -> str:
    if type(annotation).__name__ == "TypeAliasType":
        return "a task or a list of steps"
    annotation = resolve_annotation(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        parts = [
            _describe_annotation(a) for a in typing.get_args(annotation) if a is not type(None)
        ]
        return " or ".join(dict.fromkeys(parts))
    if origin is list:
        return "a list"
    if origin is dict:
        return "a mapping"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if _is_model(annotation):
        return f"a mapping ({annotation.AME_KIND})"
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}.get(
        annotation, str(annotation)
    )


class SchemaChecker:
    """Walks a document's JSON view against the models, collecting diagnostics."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.diagnostics: list[Diagnostic] = []
        # Paths (and their ancestors) that had an error: later checks skip what is already wrong.
        self.error_paths: set[Path] = set()
        self._models: dict[tuple[type, int], Any] = {}

    # --- reporting -------------------------------------------------------------------------

    @property
    def full(self) -> bool:
        return len(self.diagnostics) >= MAX_DIAGNOSTICS

    def _mark_error(self, path: Path) -> None:
        for depth in range(len(path) + 1):
            self.error_paths.add(path[:depth])

    def report(
        self,
        code: str,
        severity: Severity,
        message: str,
        rng: Range,
        path: Path,
        fixes: tuple[Fix, ...] = (),
        tags: tuple[str, ...] = (),
    ) -> None:
        if not self.full:
            self.diagnostics.append(Diagnostic(code, severity, message, rng, fixes, tags))
        if severity == Severity.ERROR:
            for depth in range(len(path) + 1):
                self.error_paths.add(path[:depth])

    def value_range(self, path: Path) -> Range:
        node = self.doc.node_at(path)
        if node is None:
            return self.doc.range_of(path, key=True)
        if isinstance(node, yaml.ScalarNode):
            return node_range(node)
        # A collection: underline its key if it has one, else its first line.
        key = self.doc.key_node_at(path)
        if key is not None:
            return node_range(key)
        return first_line_range(self.doc.lines, node)

    def key_range(self, path: Path) -> Range:
        node = self.doc.node_at(path[:-1])
        if node is not None and custom_tag(node) == f"!{path[-1]}":
            tag_rng = self.doc.tag_range_of(node)
            if tag_rng is not None:
                return tag_rng
        return self.doc.range_of(path, key=True)

    # --- the walk --------------------------------------------------------------------------

    def check_project(self) -> Project | None:
        view = self.doc.view
        if not isinstance(view, dict):
            if not self.doc.diagnostics:
                what = "empty" if view is None else f"{_json_kind(view)}, not a mapping"
                self.report(
                    "AME007",
                    Severity.ERROR,
                    f"an ame.yml is a mapping with at least `project: <name>`; this file is {what}",
                    Range(0, 0, 0, 0) if view is None else self.value_range(()),
                    (),
                )
            return None
        result = self.check_model(Project, view, ())
        return result if isinstance(result, Project) else None

    def check_value(self, annotation: Any, value: Any, path: Path, field_name: str = "") -> Any:
        return _plan(annotation)(self, value, path, field_name)

    @staticmethod
    def _arm_accepts(arm: Any, value: Any) -> bool:
        arm = resolve_annotation(arm)
        origin = _origin(arm)
        if origin is typing.Union:
            return any(SchemaChecker._arm_accepts(a, value) for a in typing.get_args(arm))
        if origin is Literal:
            return any(SchemaChecker._arm_accepts(type(c), value) for c in typing.get_args(arm))
        if origin is list:
            return isinstance(value, list)
        if origin is dict or _is_model(arm):
            return isinstance(value, dict)
        if arm is bool:
            return isinstance(value, bool)
        if arm is int:
            return isinstance(value, int) and not isinstance(value, bool)
        if arm is float:
            return isinstance(value, int | float) and not isinstance(value, bool)
        if arm is str:
            return isinstance(value, str)
        return False

    def _check_scalar(self, annotation: Any, value: Any, path: Path, field_name: str) -> Any:
        if annotation is str:
            if isinstance(value, str):
                return value
            if isinstance(value, YamlInt | YamlFloat):
                if field_name == "python_version":
                    self._unquoted_python_version(value, path)
                return value.source
        elif annotation is bool:
            if isinstance(value, bool):
                return value
        elif annotation is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return int(value)
        elif annotation is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
        return self._wrong_type(annotation, value, path)

    def _unquoted_python_version(self, value: YamlInt | YamlFloat, path: Path) -> None:
        node = self.doc.node_at(path)
        if node is None:
            return
        rng = node_range(node)
        if isinstance(value, YamlFloat) and repr(float(value)) != value.source:
            meaning = f"the number {float(value)!r}"
        else:
            meaning = "a number, not a string,"
        self.report(
            "AME110",
            Severity.INFORMATION,
            f"pythonVersion {value.source} is {meaning} to other YAML tools; AME reads it as "
            f'"{value.source}", but quoting it says so to everyone',
            rng,
            path,
            (Fix(f'Quote as "{value.source}"', (TextEdit(rng, f'"{value.source}"'),)),),
        )

    def _wrong_type(self, annotation: Any, value: Any, path: Path) -> Any:
        if self.full:
            self._mark_error(path)
            return _INVALID
        parent = self.doc.node_at(path[:-1]) if path else None
        legacy_shape = _LEGACY_SHAPES.get((path[-1], type(value))) if path else None
        if legacy_shape is not None and isinstance(parent, yaml.MappingNode):
            self.report("AME105", Severity.ERROR, legacy_shape, self.key_range(path), path)
            return _INVALID
        self.report(
            "AME101",
            Severity.ERROR,
            f"expected {_describe_annotation(annotation)}, got {_json_kind(value)}",
            self.value_range(path),
            path,
        )
        return _INVALID

    def _empty_item(self, annotation: Any, path: Path) -> None:
        if self.full:
            self._mark_error(path)
            return
        self.report(
            "AME101",
            Severity.ERROR,
            f"empty list item: expected {_describe_annotation(annotation)}; write it after "
            "the `-`, or remove the line",
            self.value_range(path),
            path,
        )

    # --- objects ---------------------------------------------------------------------------

    def check_model(self, cls: type[AmeModel], value: dict[str, Any], path: Path) -> Any:
        # An alias (`executor: *exec`) shares one view object in many places: check it once,
        # report its problems once (they are at the anchor anyway), reuse the object.
        cache_key = (cls, id(value))
        cached = self._models.get(cache_key)
        if cached is not None:
            if cached is _INVALID:
                self._mark_error(path)
            return cached
        result = self._check_model(cls, value, path)
        self._models[cache_key] = result
        return result

    def _check_model(self, cls: type[AmeModel], value: dict[str, Any], path: Path) -> Any:
        tagged_union = getattr(cls, "AME_TAGGED_UNION", False)
        # Only a tagged node's view is `{tag: fields}`: look it up instead of walking the tree.
        node = self.doc.tagged_views.get(id(value))
        tag = custom_tag(node) if node is not None else None
        if tag is not None and not tagged_union:
            self._misplaced_tag(cls, tag, node, path)
            inner = value.get(tag[1:])
            path = (*path, tag[1:])
            if not isinstance(inner, dict):
                return _INVALID
            value = inner

        if (
            tagged_union
            and node is None
            and not any(
                field_by_alias(cls, k) or k in cls.AME_ALIASES or k in cls.AME_LEGACY for k in value
            )
        ):
            self._no_variant(cls, value, path)
            return _INVALID

        fields: dict[str, Any] = {}
        provided: set[str] = set()
        deferred_aliases: list[tuple[str, str]] = []
        table = _field_table(cls)
        for key, item in value.items():
            key_path = (*path, key)
            entry = table.get(key)
            if entry is not None:
                name, info, plan = entry
                provided.add(name)
                if item is None and name in _null_is_unset(cls):
                    # `paths:` with nothing under it (often all commented out): as if not
                    # written, unless the field is required.
                    if info.is_required():
                        self._wrong_type(info.annotation, item, key_path)
                    else:
                        provided.discard(name)
                    continue
                checked = plan(self, item, key_path, name)
                if checked is not _INVALID and info.metadata:
                    checked = self._check_constraints(info, checked, key_path)
                if checked is not _INVALID:
                    fields[name] = checked
                elif cls is Project and key == "tasks" and isinstance(item, dict):
                    self._legacy_task_map(item, key_path)
            elif key in cls.AME_ALIASES:
                deferred_aliases.append((key, cls.AME_ALIASES[key]))
            elif cls is Project and key.startswith("x-"):
                continue  # extension fields hold anchors for `<<` merges (as in compose files)
            elif key in cls.AME_LEGACY:
                self._legacy_key(cls, key, key_path)
                renamed = cls.AME_LEGACY_RENAMES.get(key)
                found = field_by_alias(cls, renamed) if renamed else None
                if found is not None:
                    provided.add(found[0])  # not missing: reported as legacy already
            else:
                self._unknown_key(cls, key, item, key_path, tagged_union)
        for key, target in deferred_aliases:
            self._alias_key(cls, key, target, value, path, fields, provided)

        for name, key in _required_fields(cls):
            if name not in provided:
                self._missing_field(cls, key, path)
                return _INVALID
            if name not in fields:
                return _INVALID  # provided but invalid: already reported

        if tagged_union:
            variants = [name for name in cls.model_fields if fields.get(name) is not None]
            if len(variants) > 1:
                self.report(
                    "AME108",
                    Severity.ERROR,
                    f"{cls.AME_KIND} has {len(variants)} variants ({', '.join(variants)}): "
                    "keep exactly one",
                    self.value_range(path),
                    path,
                )
                return _INVALID
            if not variants:
                return _INVALID

        return cls.build(fields, path)

    @staticmethod
    def _check_constraints_meta(info: FieldInfo) -> int | None:
        for meta in info.metadata:
            ge = getattr(meta, "ge", None)
            if ge is not None:
                return ge
        return None

    def _check_constraints(self, info: FieldInfo, value: Any, path: Path) -> Any:
        if not info.metadata:
            return value
        minimum = self._check_constraints_meta(info)
        if minimum is not None and isinstance(value, int | float) and value < minimum:
            self.report(
                "AME109",
                Severity.ERROR,
                f"must be at least {minimum}, got {value}",
                self.value_range(path),
                path,
            )
            return _INVALID
        return value

    def _legacy_task_map(self, tasks: dict[str, Any], path: Path) -> None:
        """The legacy `tasks: {name: {...}}` is not read, but its tasks are still checked, so
        one pass shows every spelling the migration has to change."""
        for name, task in tasks.items():
            if isinstance(task, dict):
                self.check_value(Task, task, (*path, name), "")

    def _missing_field(self, cls: type[AmeModel], key: str, path: Path) -> None:
        info = field_by_alias(cls, key)
        doc = (info[1].description or "") if info else ""
        node = self.doc.node_at(path)
        if node is not None and custom_tag(node) is not None:
            rng = self.doc.tag_range_of(node) or self.value_range(path)
        elif path and isinstance(path[-1], int) or not path:
            rng = first_line_range(self.doc.lines, node) if node is not None else Range(0, 0, 0, 0)
        else:
            rng = self.doc.range_of(path, key=True)
        first_sentence = doc.split(". ")[0].rstrip(".")
        self.report(
            "AME102",
            Severity.ERROR,
            f"{cls.AME_KIND} is missing required field `{key}`"
            + (f": {first_sentence}" if first_sentence else ""),
            rng,
            path,
        )

    def _unknown_key(
        self, cls: type[AmeModel], key: str, item: Any, path: Path, tagged_union: bool
    ) -> None:
        if self.full:
            self._mark_error(path)
            return
        candidates = file_keys(cls) + list(cls.AME_ALIASES)
        close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
        from_tag = tagged_union and self._key_is_tag(path)
        if from_tag:
            valid = ", ".join(f"!{k}" for k in file_keys(cls))
            message = f"unknown {cls.AME_KIND} tag !{key}: use one of {valid}"
            if close:
                message += f"; did you mean !{close[0]}?"
            self.report(
                "AME107",
                Severity.ERROR,
                message,
                self.key_range(path),
                path,
                self._replace_fixes(path, [f"!{c}" for c in close], key=True),
            )
            return
        message = f"unknown key `{key}` in {cls.AME_KIND}"
        message += (
            f": did you mean `{close[0]}`?"
            if close
            else f"; valid keys: {', '.join(file_keys(cls))}"
        )
        self.report(
            "AME103",
            Severity.ERROR,
            message,
            self.key_range(path),
            path,
            self._replace_fixes(path, close, key=True),
        )

    def _key_is_tag(self, path: Path) -> bool:
        node = self.doc.node_at(path[:-1])
        return node is not None and custom_tag(node) == f"!{path[-1]}"

    def _replace_fixes(self, path: Path, choices: list[str], key: bool = False) -> tuple[Fix, ...]:
        rng = self.key_range(path) if key else self.value_range(path)
        return tuple(
            Fix(f"Change to `{choice}`", (TextEdit(rng, choice),), preferred=index == 0)
            for index, choice in enumerate(choices)
        )

    def _legacy_key(self, cls: type[AmeModel], key: str, path: Path) -> None:
        hint = cls.AME_LEGACY[key]
        rename = cls.AME_LEGACY_RENAMES.get(key)
        fixes: tuple[Fix, ...] = ()
        if rename is not None:
            fixes = (
                Fix(f"Rename `{key}` to `{rename}`", (TextEdit(self.key_range(path), rename),)),
            )
        self.report(
            "AME105",
            Severity.ERROR,
            f"`{key}` is a legacy spelling that is no longer read: {hint}",
            self.key_range(path),
            path,
            fixes,
        )

    def _alias_key(
        self,
        cls: type[AmeModel],
        key: str,
        target: str,
        value: dict[str, Any],
        path: Path,
        fields: dict[str, Any],
        provided: set[str],
    ) -> None:
        key_path = (*path, key)
        top, _, rest = target.partition(".")
        from_tag = self._key_is_tag(key_path)
        shown = f"!{key}" if from_tag else f"`{key}`"
        canonical = f"!{top}" if from_tag else f"`{top}`"
        if rest:
            canonical = f"`{top}: {{{rest}: ...}}`"
        found = field_by_alias(cls, top)
        assert found is not None, f"alias target {target} is not a field of {cls.__name__}"
        name, info = found
        if top in value or (name in provided and not rest):
            self.report(
                "AME104",
                Severity.ERROR,
                f"{shown} and `{top}` are the same field: keep only `{top}`",
                self.key_range(key_path),
                key_path,
            )
            return
        fixes = self._alias_fixes(key, target, key_path, from_tag)
        self.report(
            "AME104",
            Severity.WARNING,
            f"{shown} is a deprecated spelling: write {canonical}",
            self.key_range(key_path),
            key_path,
            fixes,
            tags=("deprecated",),
        )
        provided.add(name)
        if value[key] is None and name in _null_is_unset(cls) and not info.is_required():
            provided.discard(name)  # the old spelling with nothing under it: as if not written
            return
        if not rest:
            checked = self.check_value(info.annotation, value[key], key_path, name)
            if checked is not _INVALID:
                fields[name] = checked
            return
        # A nested target (`validationTask: X` means `validation: {task: X}`).
        nested_cls = _model_of(info.annotation)
        nested_found = field_by_alias(nested_cls, rest)
        assert nested_found is not None
        nested_name, nested_info = nested_found
        checked = self.check_value(nested_info.annotation, value[key], key_path, nested_name)
        if checked is _INVALID:
            return
        existing = fields.get(name)
        if existing is None:
            fields[name] = nested_cls.build({nested_name: checked}, key_path)
        elif getattr(existing, nested_name, None) is None:
            setattr(existing, nested_name, checked)

    def _alias_fixes(
        self, key: str, target: str, key_path: Path, from_tag: bool
    ) -> tuple[Fix, ...]:
        rng = self.key_range(key_path)
        top, _, rest = target.partition(".")
        if from_tag:
            return (Fix(f"Change to !{top}", (TextEdit(rng, f"!{top}"),)),)
        if not rest:
            return (Fix(f"Rename to `{top}`", (TextEdit(rng, top),)),)
        return _nest_fix(self.doc, key_path, top, rest)

    def _no_variant(self, cls: type[AmeModel], value: dict[str, Any], path: Path) -> None:
        kinds = file_keys(cls)
        if cls.__name__ == "Executor":
            message = (
                "executor has no variant: say how the task runs with a tag, e.g. "
                "`executor: !pip` (one of " + ", ".join(f"!{k}" for k in kinds) + ")"
            )
        else:
            message = f"{cls.AME_KIND} needs one of: " + ", ".join(f"!{k}" for k in kinds)
        fixes: tuple[Fix, ...] = ()
        key_node = self.doc.key_node_at(path)
        if key_node is not None:
            end = key_node.end_mark
            # `executor:` → `executor: !pip`; the fields below become the variant's fields.
            colon = self.doc.lines[end.line].find(":", end.column)
            if colon >= 0:
                at = Range(end.line, colon + 1, end.line, colon + 1)
                fixes = tuple(
                    Fix(f"Add tag !{k}", (TextEdit(at, f" !{k}"),), preferred=False) for k in kinds
                )
        self.report("AME108", Severity.ERROR, message, self.value_range(path), path, fixes)

    # --- tags --------------------------------------------------------------------------------

    def _misplaced_tag(self, cls: type[AmeModel], tag: str, node: Any, path: Path) -> None:
        rng = self.doc.tag_range_of(node) or first_line_range(self.doc.lines, node)
        if tag in EXECUTOR_TAGS:
            message = f"{tag} is an executor tag: it belongs on the value of `executor:`"
            fixes = self._move_tag_fixes(tag, rng, node)
            code = "AME106"
        elif tag in SECRET_TAGS:
            message = f"{tag} is a secret tag: it belongs on an item of `secrets:`"
            fixes = ()
            code = "AME106"
        else:
            known = sorted(EXECUTOR_TAGS | SECRET_TAGS)
            close = difflib.get_close_matches(tag, known, n=1)
            message = f"unknown tag {tag}: tags are only used on `executor:` ({', '.join(sorted(EXECUTOR_TAGS))}) and secrets (!ame, !vault)"
            if close:
                message += f"; did you mean {close[0]}?"
            fixes = ()
            code = "AME107"
        self.report(code, Severity.ERROR, message, rng, path, fixes)

    def _move_tag_fixes(self, tag: str, tag_rng: Range, node: Any) -> tuple[Fix, ...]:
        if not isinstance(node, yaml.MappingNode):
            return ()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "executor":
                if custom_tag(value) is not None:
                    return ()
                colon = self.doc.lines[key.end_mark.line].find(":", key.end_mark.column)
                if colon < 0:
                    return ()
                insert = Range(key.end_mark.line, colon + 1, key.end_mark.line, colon + 1)
                return (
                    Fix(
                        f"Move {tag} onto `executor:`",
                        (_delete_tag_edit(self.doc.lines, tag_rng), TextEdit(insert, f" {tag}")),
                    ),
                )
        return ()


# --- compiled checks: one function per annotation, built once --------------------------------

Plan = Callable[[SchemaChecker, Any, Path, str], Any]
# One value of each class the JSON view holds, to ask which union arm takes that class.
_SAMPLES: dict[type, Any] = {
    str: "",
    bool: False,
    YamlInt: YamlInt(0, "0"),
    YamlFloat: YamlFloat(0.0, "0.0"),
    int: 0,
    float: 0.0,
    list: [],
    dict: {},
}


@functools.cache
def _field_table(cls: type[AmeModel]) -> dict[str, tuple[str, FieldInfo, Plan]]:
    """File key → (field name, field, its check)."""
    return {
        (info.alias or name): (name, info, _plan(info.annotation))
        for name, info in cls.model_fields.items()
    }


@functools.cache
def _null_is_unset(cls: type[AmeModel]) -> frozenset[str]:
    """Fields holding a list, a mapping or an object that may not be null: for these a null
    (`key:` and nothing) means "not written" (their default), never a None the code after the
    checks would trip over."""
    found = set()
    for name, info in cls.model_fields.items():
        resolved = resolve_annotation(info.annotation)
        if _origin(resolved) is typing.Annotated:
            resolved = resolve_annotation(typing.get_args(resolved)[0])
        if _origin(resolved) in (list, dict) or _is_model(resolved):
            found.add(name)
    return frozenset(found)


@functools.cache
def _required_fields(cls: type[AmeModel]) -> tuple[tuple[str, str], ...]:
    """(field name, file key) of the fields without a default."""
    return tuple(
        (name, info.alias or name) for name, info in cls.model_fields.items() if info.is_required()
    )


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, AmeModel)


@functools.cache
def _plan(annotation: Any) -> Plan:
    """The check of one annotation as a function: its structure is decided once, not per value.
    This is the one walk of the models; every check of a value goes through it."""
    if isinstance(annotation, TypeAliasType | typing.ForwardRef | str):
        return _deferred_plan(annotation)
    origin = _origin(annotation)
    if annotation is Any:
        return lambda c, v, p, f: v
    if origin is typing.Union:
        return _union_plan(annotation)
    if origin is typing.Annotated:
        return _plan(typing.get_args(annotation)[0])  # constraints are checked per field
    if origin is list:
        return _list_plan(annotation)
    if origin is dict:
        return _dict_plan(annotation)
    if origin is Literal:
        return _literal_plan(annotation)
    if _is_model(annotation):
        return _model_plan(annotation)
    if annotation is str:

        def string(c: SchemaChecker, v: Any, p: Path, f: str) -> Any:
            if v.__class__ is str:
                return v
            return c._check_scalar(str, v, p, f)

        return string
    if annotation in (bool, int, float):
        return lambda c, v, p, f: c._check_scalar(annotation, v, p, f)
    raise TypeError(f"the schema checker has no check for the annotation {annotation!r}")


def _deferred_plan(annotation: Any) -> Plan:
    """An alias's check, built on first use: a recursive alias (`Step` is a task or a list of
    steps) then finds its own check in the cache instead of building it forever."""
    built: list[Plan] = []

    def deferred(c: SchemaChecker, v: Any, p: Path, f: str) -> Any:
        if not built:
            built.append(_plan(resolve_annotation(annotation)))
        return built[0](c, v, p, f)

    return deferred


def _union_plan(annotation: Any) -> Plan:
    arms, optional = _union_arms(annotation)
    by_class: dict[type, Plan] = {}
    for cls, sample in _SAMPLES.items():
        arm = next((a for a in arms if SchemaChecker._arm_accepts(a, sample)), None)
        if arm is None and cls in (YamlInt, YamlFloat) and str in arms:
            arm = str  # a string field keeps the number's source text
        if arm is not None:
            by_class[cls] = _plan(arm)

    def union(c: SchemaChecker, v: Any, p: Path, f: str) -> Any:
        if v is None and optional:
            return None
        sub = by_class.get(v.__class__)
        if sub is None:
            return c._wrong_type(annotation, v, p)
        return sub(c, v, p, f)

    return union


def _list_plan(annotation: Any) -> Plan:
    (item_type,) = typing.get_args(annotation)
    item_plan = _plan(item_type)
    item_optional = type(None) in typing.get_args(resolve_annotation(item_type))

    def items(c: SchemaChecker, v: Any, p: Path, f: str) -> Any:
        if v is None:
            return None
        if v.__class__ is not list:
            return c._wrong_type(annotation, v, p)
        out = []
        for index, item in enumerate(v):
            if item is None and not item_optional:
                c._empty_item(item_type, (*p, index))  # `- ` with nothing after it
                continue
            checked = item_plan(c, item, (*p, index), f)
            if checked is not _INVALID:
                out.append(checked)
        return out

    return items


def _dict_plan(annotation: Any) -> Plan:
    value_plan = _plan(typing.get_args(annotation)[1])

    def mapping(c: SchemaChecker, v: Any, p: Path, f: str) -> Any:
        if v is None:
            return None
        if v.__class__ is not dict:
            return c._wrong_type(annotation, v, p)
        out = {}
        for key, item in v.items():
            checked = value_plan(c, item, (*p, key), f)
            if checked is not _INVALID:
                out[key] = checked
        return out

    return mapping


def _literal_plan(annotation: Any) -> Plan:
    choices = typing.get_args(annotation)
    names = [str(choice) for choice in choices]

    def literal(c: SchemaChecker, v: Any, p: Path, f: str) -> Any:
        if v in choices:
            return v
        close = difflib.get_close_matches(str(v), names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        c.report(
            "AME109",
            Severity.ERROR,
            f"'{v}' is not valid here: use one of {', '.join(names)}{hint}",
            c.value_range(p),
            p,
            c._replace_fixes(p, close),
        )
        return _INVALID

    return literal


def _model_plan(cls: type[AmeModel]) -> Plan:
    def model(c: SchemaChecker, v: Any, p: Path, f: str) -> Any:
        if v is None:
            return None
        if v.__class__ is not dict:
            return c._wrong_type(cls, v, p)
        return c.check_model(cls, v, p)

    return model


# Shapes the older implementation used for a whole field, with their migration hint.
_LEGACY_SHAPES: dict[tuple[str | int, type], str] = {
    ("tasks", dict): "the map form `tasks: {name: {...}}` is legacy: write tasks as a list, "
    "`tasks:` then `- name: <task>` with its fields under it",
}


def _delete_tag_edit(lines: list[str], rng: Range) -> TextEdit:
    """Delete a tag, and its whole line when the tag stands alone on it."""
    line = lines[rng.start_line]
    if line.strip() == line[rng.start_col : rng.end_col]:
        return TextEdit(Range(rng.start_line, 0, rng.start_line + 1, 0), "")
    end = rng.end_col
    while end < len(line) and line[end] == " ":
        end += 1
    return TextEdit(Range(rng.start_line, rng.start_col, rng.end_line, end), "")


def _model_of(annotation: Any) -> type[AmeModel]:
    for arm in typing.get_args(annotation) or (annotation,):
        if _is_model(arm):
            return arm
    raise TypeError(f"no model in {annotation}")


def _nest_fix(doc: YamlDocument, key_path: Path, top: str, rest: str) -> tuple[Fix, ...]:
    """`old: <block>` → `top:\\n  rest: <block re-indented>` for block-style values."""
    key_node = doc.key_node_at(key_path)
    value_node = doc.node_at(key_path)
    if key_node is None or value_node is None:
        return ()
    key_line = key_node.start_mark.line
    indent = key_node.start_mark.column
    line_text = doc.lines[key_line]
    colon = line_text.find(":", key_node.end_mark.column)
    if colon < 0:
        return ()
    edits = [
        TextEdit(
            Range(key_line, indent, key_line, colon + 1),
            f"{top}:\n{' ' * (indent + 2)}{rest}:",
        )
    ]
    end_line = value_node.end_mark.line
    if value_node.end_mark.column == 0:
        end_line -= 1
    for line in range(key_line + 1, end_line + 1):
        if doc.lines[line].strip():
            edits.append(TextEdit(Range(line, 0, line, 0), "  "))
    return (Fix(f"Write as `{top}: {{{rest}: ...}}`", tuple(edits)),)


def check_schema(doc: YamlDocument) -> tuple[Project | None, list[Diagnostic], set[Path]]:
    checker = SchemaChecker(doc)
    project = checker.check_project()
    return project, checker.diagnostics, checker.error_paths
