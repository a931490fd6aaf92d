"""JSON Schema (2020-12) of the JSON view, generated from the models (`ame schema`).

pydantic writes the structure; this module adds what editors use: titles, markdown descriptions,
deprecated alias properties, name and quantity patterns, enum descriptions and snippets.
"""

from __future__ import annotations

import json
from typing import Any

from ame_core.spec import models as m
from ame_core.spec.models import NAME_PATTERN

SCHEMA_ID = "https://raw.githubusercontent.com/ame/ame-console/main/schema/ame.schema.json"
QUANTITY_PATTERN = r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$"
WHOLE_PATTERN = r"^\+?[0-9]+$"

_RESOURCE_DOCS = {
    "cpu": "CPU cores: `2`, `1.5` or millicores `500m`.",
    "memory": "Memory in bytes with a suffix: `10Gi` (2^30), `10G` (10^9), `512Mi`.",
    "storage": "Scratch disk (`ephemeral-storage` on a cluster): `30G`, `20Gi`.",
    "nvidia.com/gpu": "Whole NVIDIA GPUs: `1`, `2` (no fractions).",
}
_SERVING_DOCS = {
    "mlflow": "`mlflow models serve` (supported)",
    "mlserver": "Seldon MLServer (planned, not supported yet)",
    "kserve": "A KServe InferenceService with MLServer's MLflow runtime, protocol v2 (cluster "
    "only: --backend kubernetes)",
    "triton": "KServe's Triton runtime, for ONNX or Triton-repository flavors (cluster only: "
    "--backend kubernetes)",
}
_EXECUTOR_SNIPPETS = {
    "poetry": {"pythonVersion": "${1:3.11}", "command": "${2:python train.py}"},
    "pip": {"pythonVersion": "${1:3.11}", "command": "${2:python train.py}"},
    "pipenv": {"command": "${1:python train.py}"},
    "mlflow": {},
    "custom": {"command": "${1:./run.sh}"},
}

_MODELS_WITH_NAMES = ("Task", "Template", "Model", "DataSet")
_TAGGED_UNIONS = ("Executor", "Secret")


def _quantity_schema(whole: bool = False) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "integer", "minimum": 0} if whole else {"type": "number", "minimum": 0},
            {"type": "string", "pattern": WHOLE_PATTERN if whole else QUANTITY_PATTERN},
        ]
    }


def _resources_schema(description: str) -> dict[str, Any]:
    properties = {
        name: {
            **_quantity_schema(name == "nvidia.com/gpu"),
            "description": doc,
            "markdownDescription": doc,
        }
        for name, doc in _RESOURCE_DOCS.items()
    }
    return {
        "type": "object",
        "description": description,
        "markdownDescription": description,
        "properties": properties,
        # Other extended resources (`<domain>/<name>`) are whole numbers.
        "patternProperties": {r"^[a-z0-9.-]+/[A-Za-z0-9._-]+$": _quantity_schema(whole=True)},
        "additionalProperties": False,
        "examples": [{"cpu": 2, "memory": "4Gi"}],
    }


def _bare_variant_schema(defs: dict[str, Any], union: dict[str, Any]) -> dict[str, Any]:
    """What a JSON-Schema tool sees for `executor: !pip {...}`: a custom tag is invisible to it,
    so the value is the variant's bare mapping. It gets the union of the variants' fields (each
    with its first variant's schema and the variants that take it), still closed to unknown keys;
    the engine checks which fields the tag needs."""
    fields: dict[str, dict[str, Any]] = {}
    takers: dict[str, list[str]] = {}
    for kind, prop in union["properties"].items():
        if prop.get("deprecated"):
            continue
        variant = defs[prop["$ref"].rsplit("/", 1)[-1]]
        for key, field in variant["properties"].items():
            fields.setdefault(
                key, {k: v for k, v in field.items() if k not in ("title", "default")}
            )
            takers.setdefault(key, []).append(f"`!{kind}`")
    tags = [
        f"`!{kind}`" for kind, prop in union["properties"].items() if not prop.get("deprecated")
    ]
    properties = {}
    for key, field in fields.items():
        doc = f"{field.get('description', '')} (in {', '.join(takers[key])})".strip()
        properties[key] = {**field, "description": doc}
    return {
        "type": "object",
        "title": f"tagged {union.get('title', 'variant')}",
        "description": f"The mapping under a tag ({', '.join(tags)}): the tag's own fields.",
        "properties": properties,
        "additionalProperties": False,
    }


def _accept_tagged_spelling(defs: dict[str, Any], name: str) -> None:
    """A tagged union takes the map spelling (one key) or the bare mapping of a tag."""
    by_key = defs[name]
    bare = _bare_variant_schema(defs, by_key)
    outer = {k: by_key.pop(k) for k in ("description", "title") if k in by_key}
    defs[name] = {**outer, "anyOf": [by_key, bare]}


def _decorate(node: Any) -> None:
    """Titles from keys, markdownDescription beside each description, recursively."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for key, prop in props.items():
                if isinstance(prop, dict):
                    prop["title"] = key
        if "description" in node and "markdownDescription" not in node:
            node["markdownDescription"] = node["description"]
        for value in node.values():
            _decorate(value)
    elif isinstance(node, list):
        for item in node:
            _decorate(item)


def _drop_null(prop: dict[str, Any]) -> dict[str, Any]:
    """`anyOf [X, null]` → X (keeps description and the like)."""
    arms = prop.get("anyOf")
    if isinstance(arms, list):
        kept = [a for a in arms if a != {"type": "null"}]
        if len(kept) == 1:
            rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
            return {**kept[0], **rest}
    return prop


def _leaf_schema(defs: dict[str, Any], cls: type[m.AmeModel], dotted: str) -> dict[str, Any]:
    """The schema of the field a (maybe dotted) alias target names."""
    schema: dict[str, Any] = defs[cls.__name__]
    for part in dotted.split("."):
        prop = _drop_null(schema["properties"][part])
        if "$ref" in prop and "." in dotted and part != dotted.split(".")[-1]:
            schema = defs[prop["$ref"].rsplit("/", 1)[-1]]
        else:
            return prop
    return schema


def build_schema() -> dict[str, Any]:
    schema = m.Project.model_json_schema(by_alias=True, mode="validation")
    defs: dict[str, Any] = schema.pop("$defs")
    defs["Project"] = schema
    classes = {cls.__name__: cls for cls in _all_models()}

    for name, cls in classes.items():
        target = defs.get(name)
        if target is None:
            continue
        props = target.setdefault("properties", {})
        for key in list(props):
            if props[key].get("title", "").lower() == "resources" or key == "resources":
                desc = props[key].get("description", "Resources.")
                props[key] = {
                    "anyOf": [_resources_schema(desc), {"type": "null"}],
                    "description": desc,
                }
        if name in _MODELS_WITH_NAMES:
            props["name"] = {**_drop_null(props["name"]), "pattern": NAME_PATTERN}
        if name in _TAGGED_UNIONS:
            for key in props:
                props[key] = _drop_null(props[key])
            target["minProperties"] = 1
            target["maxProperties"] = 1
        for alias, canonical in cls.AME_ALIASES.items():
            leaf = dict(_leaf_schema(defs, cls, canonical))
            leaf.pop("title", None)
            shown = (
                canonical
                if "." not in canonical
                else f"{canonical.split('.')[0]}: {{{canonical.split('.', 1)[1]}: ...}}"
            )
            leaf["description"] = f"Deprecated spelling: write `{shown}`."
            leaf["deprecated"] = True
            props[alias] = leaf

    project = defs.pop("Project")
    project["properties"]["project"]["pattern"] = NAME_PATTERN
    if "dataSets" in project["properties"]:
        pass
    # The file needs `project` (or its deprecated alias `name`).
    project["required"] = []
    project["anyOf"] = [{"required": ["project"]}, {"required": ["name"]}]

    deployment = defs["Deployment"]["properties"]["serving"]
    deployment["enumDescriptions"] = [_SERVING_DOCS[v] for v in deployment["enum"]]
    deployment["markdownEnumDescriptions"] = deployment["enumDescriptions"]

    for union in _TAGGED_UNIONS:
        _accept_tagged_spelling(defs, union)
    for kind, body in _EXECUTOR_SNIPPETS.items():
        defs["Executor"].setdefault("defaultSnippets", []).append(
            {"label": f"{kind}", "description": f"executor {kind}", "body": {kind: body}}
        )
    defs["Task"]["defaultSnippets"] = [
        {
            "label": "task (pip)",
            "body": {"name": "${1:train}", "executor": {"pip": _EXECUTOR_SNIPPETS["pip"]}},
        },
        {"label": "task reference", "body": {"taskRef": "${1:task}"}},
    ]
    defs["Model"]["defaultSnippets"] = [
        {
            "label": "model",
            "body": {"name": "${1:model}", "training": {"task": {"taskRef": "${2:train}"}}},
        }
    ]

    result: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "AME project file (ame.yml)",
        **{k: v for k, v in project.items() if k != "title"},
        "$defs": dict(sorted(defs.items())),
    }
    result["description"] = (
        "An AME project: tasks, templates, models and data sets. Executors and secrets are "
        "written as tags (`!pip`, `!ame`) or as one-key mappings (`pip:`)."
    )
    _decorate(result)
    return result


def _all_models() -> list[type[m.AmeModel]]:
    return [
        value
        for value in vars(m).values()
        if isinstance(value, type) and issubclass(value, m.AmeModel) and value is not m.AmeModel
    ]


def schema_json() -> str:
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"
