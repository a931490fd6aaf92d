"""Durations (`30s`, `5m`, `1h`, `250ms`) and percentages (`10%` or `10`) of the file format
(FORMAT.md, "Rollout"): parsed exactly, with a message that says what is accepted."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")


class FormatValueError(ValueError):
    """A duration or percentage that cannot be read; the message is for the user."""


def parse_duration(value: object) -> float:
    """Seconds of `30s`, `5m`, `1h`, `250ms`, `1d` (a bare number is refused: which unit?)."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise FormatValueError(
            f"{value!r} is not a duration: write a number with a unit, e.g. 30s, 5m, 1h, 250ms"
        )
    match = _DURATION.match(value)
    if not match:
        raise FormatValueError(
            f"{value!r} is not a duration: write a number with a unit (ms, s, m, h, d), "
            "e.g. 30s, 5m, 1h"
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_percent(value: object, low: float = 0.0, high: float = 100.0) -> float:
    """The number of `10%`, `10` or `2.5%`, within [low, high]."""
    if isinstance(value, bool):
        raise FormatValueError(f"{value!r} is not a percentage: write e.g. 10% or 10")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and (match := _PERCENT.match(value)):
        number = float(match.group(1))
    else:
        raise FormatValueError(f"{value!r} is not a percentage: write e.g. 10% or 10")
    if not low <= number <= high:
        raise FormatValueError(f"{value!r} is out of range: between {low:g}% and {high:g}%")
    return number


def format_duration(seconds: float) -> str:
    """`90` → `1m30s`, `0.25` → `250ms`: for messages."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"
