"""How the console tells an error: its first line (its type's name when it has no text)."""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
