"""What the policies say about one place of the resolved view, for the editor: the rules that
constrain a value (hover) and the values an `enum` or `const` allows or a `not` forbids
(completion). A static walk of each schema: `properties`, `patternProperties`,
`additionalProperties`, `items`/`prefixItems`, `allOf`/`anyOf`/`oneOf`, `if`'s `then`/`else`
(either may hold) and local `$ref`s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ame_core.policy.loading import Policy, PolicySet

Path = tuple[str | int, ...]

# words for the keywords a hover shows, in this order
_WORDS = {
    "const": "must be {}",
    "enum": "one of {}",
    "x-ame-maxQuantity": "at most {}",
    "x-ame-minQuantity": "at least {}",
    "x-ame-maxDuration": "at most {}",
    "x-ame-minDuration": "at least {}",
    "maximum": "at most {}",
    "minimum": "at least {}",
    "exclusiveMaximum": "less than {}",
    "exclusiveMinimum": "more than {}",
    "pattern": "matches {}",
    "type": "of type {}",
    "maxLength": "at most {} characters",
    "minLength": "at least {} characters",
}


@dataclass(frozen=True)
class Rule:
    policy: Policy
    words: str  # "at most 64Gi; no GPUs"
    allowed: tuple[Any, ...] | None  # from enum/const: only these
    forbidden: tuple[Any, ...]  # from not: {enum}/{const}, and `false`


def view_path(source_path: Path) -> Path:
    """The resolved view's path for a source path: a template's values are merged into the
    tasks that use it, so a template is read as a task."""
    if source_path[:1] == ("templates",):
        return ("tasks", 0, *source_path[2:])
    return source_path


def rules_at(policies: PolicySet, path: Path) -> list[Rule]:
    out = []
    for policy in policies.policies:
        for schema in _applicable(policy.schema, path, policy.schema, 0):
            rule = _rule(policy, schema)
            if rule is not None:
                out.append(rule)
    return out


def _rule(policy: Policy, schema: Any) -> Rule | None:
    if schema is False:
        return Rule(policy, "not allowed", None, ())
    if not isinstance(schema, dict):
        return None
    parts = []
    allowed: tuple[Any, ...] | None = None
    forbidden: tuple[Any, ...] = ()
    for key, template in _WORDS.items():
        if key in schema:
            value = schema[key]
            shown = ", ".join(map(_show, value)) if key == "enum" else _show(value)
            parts.append(template.format(shown))
    if "enum" in schema and isinstance(schema["enum"], list):
        allowed = tuple(schema["enum"])
    if "const" in schema:
        allowed = (schema["const"],)
    negated = schema.get("not")
    if isinstance(negated, dict):
        if isinstance(negated.get("enum"), list):
            forbidden = tuple(negated["enum"])
        elif "const" in negated:
            forbidden = (negated["const"],)
        if forbidden:
            parts.append("not " + ", ".join(map(_show, forbidden)))
    message = schema.get("x-ame-message") or schema.get("description")
    if not parts and not message:
        return None
    words = "; ".join(parts)
    if message:
        words = f"{words} — {message}" if words else str(message)
    return Rule(policy, words, allowed, forbidden)


def _show(value: Any) -> str:
    return f"`{value}`" if isinstance(value, str) else f"`{json.dumps(value)}`"


def _applicable(schema: Any, path: Path, root: Any, depth: int) -> Iterator[Any]:
    """The subschemas that apply to the value at `path` (statically: every branch)."""
    if depth > 32:
        return
    if isinstance(schema, bool):
        if not path or schema is False:
            yield schema
        return
    if not isinstance(schema, dict):
        return
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            yield from _applicable(sub, path, root, depth + 1)
    for key in ("then", "else"):
        if key in schema:
            yield from _applicable(schema[key], path, root, depth + 1)
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        target = _pointer(root, ref[1:])
        if target is not None:
            yield from _applicable(target, path, root, depth + 1)
    if not path:
        yield schema
        return
    step, rest = path[0], path[1:]
    if isinstance(step, str):
        matched = False
        properties = schema.get("properties")
        if isinstance(properties, dict) and step in properties:
            matched = True
            yield from _applicable(properties[step], rest, root, depth + 1)
        for pattern, sub in (schema.get("patternProperties") or {}).items():
            try:
                found = re.search(pattern, step)
            except re.error:
                continue
            if found:
                matched = True
                yield from _applicable(sub, rest, root, depth + 1)
        if not matched and "additionalProperties" in schema:
            yield from _applicable(schema["additionalProperties"], rest, root, depth + 1)
    else:
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list) and step < len(prefix):
            yield from _applicable(prefix[step], rest, root, depth + 1)
        elif "items" in schema:
            yield from _applicable(schema["items"], rest, root, depth + 1)


def _pointer(root: Any, pointer: str) -> Any:
    node = root
    for part in pointer.split("/")[1:] if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
