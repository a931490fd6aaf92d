"""Errors shared across the runtime, and how an error is told in one line."""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


class LifecycleError(Exception):
    """A lifecycle step that cannot go ahead; the message says why and what to do."""
