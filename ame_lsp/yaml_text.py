"""Reading an ame.yml's text line by line, without parsing it: what the language server needs
while the YAML is mid-edit and does not parse (the project's name, the names of list items),
and what the fast re-check needs for thousands of lines in a few milliseconds.

Every reader of names and project lines goes through here, so they agree on what a name is.
The cursor's own line is read by `context.parse_line`, and flow collections by `flow_context`.
"""

from __future__ import annotations

import re

# `project: name` (or the older `name: name`) at the root, alone on its line but a comment.
_PROJECT_LINE = re.compile(
    r"^(project|name)[ \t]*:[ \t]*['\"]?([A-Za-z0-9][A-Za-z0-9_-]*)['\"]?[ \t]*(?:#.*)?$", re.M
)
# `name: x` or `- name: x` (block style): the item's name, as far as it goes unquoted.
_NAME_LINE = re.compile(r"^(?P<indent> *)(?:- +)?name\s*:\s*['\"]?(?P<name>[^'\"\s#,{}\[\]]*)")
# `- {name: x, ...}`: an item in flow style (its keys start after the brace).
_FLOW_ITEM_NAME = re.compile(
    r"^(?P<indent> *)- +\{(?:[^{}\[\]]*?,)?\s*name\s*:\s*['\"]?(?P<name>[^'\"\s#,{}\[\]]*)"
)
_VALID_NAME = re.compile(r"[A-Za-z0-9][\w-]*")


def project_line_name(text: str) -> str | None:
    """The project name of a `project:` (or old `name:`) line: cheap, and it works mid-edit
    while the YAML is broken."""
    match = _PROJECT_LINE.search(text)
    return match.group(2) if match else None


def name_on_line(line: str, *, flow: bool = False) -> tuple[int, str] | None:
    """(column where the item's keys start, the name) of a `name:` line; with `flow`, also of
    `- {name: x}`. The name is the text as written: callers that need a valid one check it
    with `is_valid_name`."""
    if "name" not in line:
        return None
    match = _NAME_LINE.match(line)
    if match is not None:
        return line.index("name", len(match.group("indent"))), match.group("name")
    if flow:
        match = _FLOW_ITEM_NAME.match(line)
        if match is not None:
            return len(match.group("indent")) + 2, match.group("name")  # where block keys start
    return None


def is_valid_name(name: str) -> bool:
    return _VALID_NAME.fullmatch(name) is not None
