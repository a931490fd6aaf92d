"""Team policies checked on a project: compile each policy once, evaluate it on the resolved
view (`ame show --resolved`), and turn each error into a diagnostic at the line that breaks it.

Importing jsonschema costs a command ~35 ms, more than a lint of a small project: the errors
of one (policies, resolved view) pair are kept in the cache directory when the caller asks
(`PolicySource.persist`, the command line), so a lint of an unchanged project reads them back
without it. The language server keeps them in memory only.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ame_core.atomic_files import atomic_write
from ame_core.diagnostics import Diagnostic, Range, Related, Severity
from ame_core.policy.keywords import KEYWORDS, keyword_value_problem, policy_validator_class
from ame_core.policy.loading import Policy, PolicyProblem, PolicySet
from ame_core.policy.locate import locate

_CACHE_VERSION = "3"
_SEVERITY = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFORMATION}
# keys whose values are maps of names to schemas, or plain data: not keywords
_NAME_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
_DATA = {"enum", "const", "default", "examples", "x-ame-message", "description", "title"}


# --- compiling -----------------------------------------------------------------------------

_COMPILED: dict[str, Any] = {}  # policy digest → validator, or the PolicyProblem


def compile_policy(policy: Policy) -> Any:
    """The validator of a policy, or a PolicyProblem naming the JSON path that is wrong."""
    found = _COMPILED.get(policy.digest)
    if found is not None and not (isinstance(found, PolicyProblem) and found.name != policy.name):
        return found
    parsed = policy.parsed()
    if isinstance(parsed, PolicyProblem):
        _COMPILED[policy.digest] = parsed
        return parsed
    cls = policy_validator_class()
    from jsonschema.exceptions import best_match

    error = best_match(cls(cls.META_SCHEMA).iter_errors(parsed))
    if error is not None:
        result: Any = _problem_at(policy, tuple(error.absolute_path), error.message)
    else:
        bad = next(_bad_keywords(parsed, ()), None)
        if bad is not None:
            result = _problem_at(policy, bad[0], bad[1])
        else:
            result = cls(parsed)
    _COMPILED[policy.digest] = result
    return result


def _bad_keywords(schema: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """AME keywords (`x-ame-*`) that are unknown or have a value that cannot be used."""
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            yield from _bad_keywords(item, (*path, i))
        return
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if isinstance(key, str) and key.startswith("x-ame-"):
            problem = keyword_value_problem(key, value)
            if problem is not None:
                yield (*path, key), problem
        if key in _DATA:
            continue
        if key in _NAME_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                yield from _bad_keywords(sub, (*path, key, name))
        else:
            yield from _bad_keywords(value, (*path, key))


def _problem_at(policy: Policy, path: tuple[Any, ...], message: str) -> PolicyProblem:
    from ame_core.document import parse_yaml

    doc = parse_yaml(policy.text)
    where = doc.range_of(path, key=bool(path) and isinstance(path[-1], str))
    pointer = "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)
    text = f"not a valid JSON Schema at {pointer}: {_short(message)}"
    return PolicyProblem(policy.path, policy.name, text, where.start_line, where.start_col)


# --- evaluating ----------------------------------------------------------------------------

_RESULTS: dict[str, list[dict[str, Any]]] = {}


def evaluate(policies: PolicySet, view: Any, persist: bool = False) -> list[dict[str, Any]]:
    """The records of every policy's errors on the resolved view (and of broken policies)."""
    blob = json.dumps(view, sort_keys=True, separators=(",", ":"), default=str)
    key = hashlib.sha256(f"{_CACHE_VERSION}\n{policies.digest}\n{blob}".encode()).hexdigest()
    found = _RESULTS.get(key)
    if found is not None:
        return found
    cache = _cache_file(key) if persist else None
    if cache is not None:
        found = _read(cache)
    if found is None:
        found = _evaluate(policies, view)
        if cache is not None:
            _store(cache, found)
    if len(_RESULTS) > 256:
        _RESULTS.clear()
    _RESULTS[key] = found
    return found


def _evaluate(policies: PolicySet, view: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for policy in policies.policies:
        compiled = compile_policy(policy)
        if isinstance(compiled, PolicyProblem):
            records.append(
                {
                    "problem": str(compiled),
                    "file": str(compiled.path),
                    "line": compiled.line,
                    "col": compiled.col,
                }
            )
            continue
        for error in compiled.iter_errors(view):
            annotations = _annotations(policy.schema, error)
            path = list(error.absolute_path)
            # A rule on a key's name (`propertyNames`) is about that key: point at it.
            on_key = "propertyNames" in error.absolute_schema_path and isinstance(
                error.instance, str
            )
            records.append(
                {
                    "policy": policy.name,
                    "file": str(policy.path),
                    "path": [*path, error.instance] if on_key else path,
                    "key": on_key,
                    "severity": annotations.get("x-ame-severity", "error"),
                    "text": annotations.get("x-ame-message") or _readable(error),
                    "rule": _rule_words(error),
                }
            )
    return records


def _annotations(root: Any, error: Any) -> dict[str, Any]:
    """`x-ame-severity` and `x-ame-message` of the nearest schema around the failed keyword (so
    one set at a rule's top holds for its parts), `description` of the failed schema itself."""
    found: dict[str, Any] = {}
    chain = [root]
    node = root
    for step in list(error.absolute_schema_path)[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        chain.append(node)
    own = error.schema if isinstance(error.schema, dict) else {}
    if "description" in own:
        found["x-ame-message"] = own["description"]
    for schema in [own, *reversed(chain)]:
        if not isinstance(schema, dict):
            continue
        for key in ("x-ame-severity", "x-ame-message"):
            if key in schema and key not in found:
                found[key] = schema[key]
    return found


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return _short(json.dumps(value, default=str), 60)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _readable(error: Any) -> str:
    """jsonschema's message, said for this format (it quotes whole objects otherwise)."""
    keyword, value, instance = error.validator, error.validator_value, error.instance
    path = list(error.absolute_path)
    if keyword == "required":
        missing = [k for k in value if isinstance(instance, dict) and k not in instance]
        return f"`{missing[0] if missing else value[0]}` is required"
    if keyword == "enum":
        return f"{_show(instance)} is not allowed: use one of {', '.join(map(_show, value))}"
    if keyword == "const":
        return f"{_show(instance)} is not allowed: it must be {_show(value)}"
    if keyword == "not":
        if isinstance(value, dict) and list(value) == ["required"] and value["required"]:
            return f"`{value['required'][0]}` is not allowed"
        if isinstance(instance, dict | list):
            return "this is not allowed here"
        return f"{_show(instance)} is not allowed"
    if keyword is None or value is False:  # a `false` schema
        return f"`{path[-1]}` is not allowed" if path else "this is not allowed"
    if keyword in ("maximum", "exclusiveMaximum"):
        return f"{_show(instance)} is more than the maximum {value}"
    if keyword in ("minimum", "exclusiveMinimum"):
        return f"{_show(instance)} is less than the minimum {value}"
    if keyword == "minItems":
        return f"needs at least {value} item{'s' * (value != 1)}"
    if keyword == "maxItems":
        return f"allows at most {value} item{'s' * (value != 1)}"
    if keyword == "pattern":
        return f"{_show(instance)} does not match the pattern {value}"
    if keyword == "type":
        return f"{_show(instance)} is not of type {value}"
    if keyword in KEYWORDS:
        return str(error.message)
    return _short(error.message)


def _rule_words(error: Any) -> str:
    keyword = error.validator
    if keyword is None:
        return "false"
    return f"{keyword}: {_show(error.validator_value)}"


def _cache_file(key: str) -> Path | None:
    from ame_core.runtime.envs import cache_dir

    return cache_dir() / "policy-results" / f"{key}.json"


def _store(path: Path, records: list[dict[str, Any]]) -> None:
    """Best effort: a cache that cannot be written only costs the next lint its time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = list(os.scandir(path.parent))
        if len(entries) > 1000:  # keep the cache small: drop the oldest half
            entries.sort(key=lambda e: e.stat().st_mtime)
            for entry in entries[: len(entries) // 2]:
                Path(entry.path).unlink(missing_ok=True)
        atomic_write(path, json.dumps(records))
    except OSError:
        pass


# --- diagnostics ---------------------------------------------------------------------------


def policy_diagnostics(
    analysis: Any, policies: PolicySet, persist: bool = False
) -> list[Diagnostic]:
    """The AME5xx diagnostics of one analysed project file."""
    out = [_problem_diagnostic(str(p), str(p.path), p.line, p.col) for p in policies.problems]
    if not policies.policies or analysis.project is None or analysis.resolver is None:
        return out
    seen: set[Diagnostic] = set()
    for record in _records(analysis, policies, persist):
        if "problem" in record:
            out.append(
                _problem_diagnostic(
                    record["problem"], record["file"], record["line"], record["col"]
                )
            )
            continue
        path = tuple(record["path"])
        place = locate(path, analysis.project, analysis.resolver, analysis.doc.view)
        subject = place.subject
        if place.source:
            subject += f" (value from {place.source})"
        related: tuple[Related, ...] = ()
        if place.user is not None:
            user_range = source_range(analysis.doc, place.user[0])
            related = (Related(f"{place.user[1]} uses this value", user_range),)
        # One diagnostic per place that uses a value: a template's line may carry several,
        # each naming its task (the language server re-checks them with the task's item).
        diagnostic = Diagnostic(
            "AME501",
            _SEVERITY.get(record["severity"], Severity.ERROR),
            f"{subject}: {record['text']} [policy {record['policy']}]",
            source_range(analysis.doc, place.path, key=bool(record.get("key"))),
            related=related,
        )
        if diagnostic not in seen:
            seen.add(diagnostic)
            out.append(diagnostic)
    return out


def _records(analysis: Any, policies: PolicySet, persist: bool) -> list[dict[str, Any]]:
    """The policies' records on the project's resolved view. A project that uses no other
    project's file resolves from its own text alone: then a command keeps the records by that
    text, and a lint of an unchanged file builds no view (pydantic's first dump of a task
    costs ~20 ms in a new process)."""
    text_key = None
    if persist and _self_contained(analysis):
        stamp = f"{_code_stamp()}\n{policies.digest}\n{analysis.text}"
        text_key = "t" + hashlib.sha256(stamp.encode()).hexdigest()
        found = _read(_cache_file(text_key))
        if found is not None:
            return found
    from ame_core.views import resolved_view

    view = resolved_view(analysis)
    records = [
        r for r in evaluate(policies, view, persist) if not _under_unresolved(view, r.get("path"))
    ]
    if text_key is not None:
        _store(_cache_file(text_key), records)
    return records


def _self_contained(analysis: Any) -> bool:
    loaded = analysis.resolver.workspace.loaded_projects()
    own = analysis.index.name
    return loaded <= {own} and not any(d.code == "AME206" for d in analysis.diagnostics or ())


def _code_stamp() -> str:
    """Changes with the code that reads, resolves and checks a project (as the task cache's)."""
    from ame_core.runtime.prepared import _checker_stamp

    parts = [_checker_stamp().decode()]
    folder = Path(__file__).parent
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            parts.append(f"{entry.name}:{entry.stat().st_mtime_ns}:{entry.stat().st_size}")
    return "|".join(parts)


def _read(path: Path) -> list[dict[str, Any]] | None:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, list) else None


def _problem_diagnostic(message: str, file: str, line: int, col: int) -> Diagnostic:
    return Diagnostic(
        "AME500",
        Severity.ERROR,
        f"{message}; checked without this policy",
        Range(0, 0, 0, 0),
        related=(Related("the policy file", Range(line, col, line, col), file),),
    )


def _under_unresolved(view: Any, path: Any) -> bool:
    """Whether a path goes through a task that does not resolve (shown as `{name, error}`)."""
    if not path:
        return False
    node = view
    for step in path:
        if isinstance(node, dict) and "error" in node and "name" in node and len(node) == 2:
            return True
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return False
    return False


def source_range(doc: Any, path: tuple[Any, ...], key: bool = False) -> Range:
    """The value at a path: a scalar itself, a mapping entry by its key, a list item by its
    first line (a task's problem belongs on its first line, not its whole body)."""
    import yaml

    from ame_core.document import first_line_range, node_range

    node = doc.node_at(path)
    if node is None or key:
        return doc.range_of(path, key=True)
    if isinstance(node, yaml.ScalarNode):
        return node_range(node)
    if path and isinstance(path[-1], str):
        return doc.range_of(path, key=True)
    return first_line_range(doc.lines, node)
