"""How the console tells an error: its first line (its type's name when it has no text)."""

from __future__ import annotations

from ame_core.errors import one_line

__all__ = ["one_line"]
