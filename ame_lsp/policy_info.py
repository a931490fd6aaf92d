"""Team policies in the editor: hover on a value names the rules that constrain it and their
files; completion leaves out values a policy's `enum`/`const` does not allow (or a `not`
forbids). The rules come from `ame_core.policy.rules`, the files from the server's policies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ame_core.policy.rules import Rule, rules_at, view_path
from ame_lsp.context import Cursor, KeyStep

if TYPE_CHECKING:
    from ame_lsp.language_server import AmeLanguageServer


def _path(cursor: Cursor) -> tuple[str | int, ...]:
    steps: list[str | int] = []
    for step in cursor.steps:
        if isinstance(step, KeyStep):
            steps.append(step.key)
            if step.tag:
                steps.append(step.tag[1:])
        else:
            steps.append(0)
    if cursor.key is not None:
        steps.append(cursor.key)
    return tuple(steps)


def rules_for(server: AmeLanguageServer, uri: str, cursor: Cursor) -> list[Rule]:
    policies = server.index.policies.load(server.path_of(uri))
    if not policies.policies:
        return []
    return rules_at(policies, view_path(_path(cursor)))


def hover_text(server: AmeLanguageServer, uri: str, cursor: Cursor) -> str | None:
    """Markdown naming each rule on the value under the cursor, or None."""
    if cursor.on != "value" or cursor.key is None:
        return None
    rules = rules_for(server, uri, cursor)
    if not rules:
        return None
    lines = [f"**Team policy** `{r.policy.name}`: {r.words}" for r in rules]
    return "\n\n".join(dict.fromkeys(lines))


def allowed(rules: list[Rule], value: Any) -> bool:
    for rule in rules:
        if rule.allowed is not None and not _among(value, rule.allowed):
            return False
        if _among(value, rule.forbidden):
            return False
    return True


def _among(label: str, values: tuple[Any, ...]) -> bool:
    """Whether a completion label is one of the schema's values (`true` is True, 2 is "2")."""
    for value in values:
        if isinstance(value, bool):
            if label == ("true" if value else "false"):
                return True
        elif str(value) == label.strip("'\""):
            return True
    return False


def filter_items(
    server: AmeLanguageServer, uri: str, cursor: Cursor, items: list[Any]
) -> list[Any]:
    """Completion items without the values a policy forbids here."""
    if cursor.on != "value" or not items:
        return items
    rules = rules_for(server, uri, cursor)
    if not rules:
        return items
    return [item for item in items if allowed(rules, item.label)]
