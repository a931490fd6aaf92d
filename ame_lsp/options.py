"""The server's options, as clients send them (initializationOptions and
workspace/didChangeConfiguration settings), read once into a typed object.

One shape: `{"debounceMs": 150, "codeLens": true, "policies": ["rules/team.yaml"]}`. A client
may send it under its section name, `{"ame": {...}}` (Eglot and Neovim forward settings that
way). Anything else in the object is ignored; a value of the wrong type is as if not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SECTION = "ame"


@dataclass(frozen=True)
class ServerOptions:
    debounce_ms: int | None = None
    code_lens: bool | None = None
    policies: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, value: Any) -> ServerOptions:
        if not isinstance(value, dict):
            return cls()
        section = value.get(SECTION)
        if isinstance(section, dict):
            value = section
        debounce = value.get("debounceMs")
        lens = value.get("codeLens")
        policies = value.get("policies")
        return cls(
            debounce_ms=debounce
            if isinstance(debounce, int | float) and not isinstance(debounce, bool)
            else None,
            code_lens=lens if isinstance(lens, bool) else None,
            policies=tuple(p for p in policies if isinstance(p, str) and p)
            if isinstance(policies, list)
            else None,
        )
