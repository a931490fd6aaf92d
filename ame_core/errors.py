"""How an error is told in one line: its first non-blank line, or its type's name."""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
