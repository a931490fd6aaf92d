"""Structured log lines: a line that is a JSON object (what structlog, python-json-logger,
loguru's `serialize` or a Go service print) shown as one readable, coloured line: time, level,
message, then the other fields as key=value. The log view's `j` shows the raw line again."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

TIME_KEYS = ("time", "timestamp", "ts", "@timestamp", "asctime", "datetime")
LEVEL_KEYS = ("level", "levelname", "severity", "lvl", "log.level")
MESSAGE_KEYS = ("msg", "message", "event", "@message")
LEVEL_STYLE = {
    "critical": "bold white on red",
    "fatal": "bold white on red",
    "error": "bold red",
    "err": "bold red",
    "warning": "bold yellow",
    "warn": "bold yellow",
    "info": "bold green",
    "debug": "grey50",
    "trace": "grey50",
}


def parse(raw: str) -> dict[str, Any] | None:
    """The line's object, or None when the line is not exactly one JSON object."""
    line = raw.strip()
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _take(record: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if key in record and not isinstance(record[key], (dict, list)):
            return key, record[key]
    return None, None


def _value(value: Any) -> Text:
    if isinstance(value, bool) or value is None:
        return Text(json.dumps(value), style="yellow")
    if isinstance(value, (int, float)):
        return Text(str(value), style="magenta")
    if isinstance(value, str):
        shown = json.dumps(value) if (not value or any(c in value for c in ' ="')) else value
        return Text(shown, style="green")
    return Text(json.dumps(value, separators=(",", ":"), ensure_ascii=False), style="green")


def pretty(raw: str) -> Text | None:
    """One coloured line for a JSON object line, or None to show the line as it is."""
    record = parse(raw)
    if record is None:
        return None
    record = dict(record)
    text = Text()
    key, when = _take(record, TIME_KEYS)
    if key is not None:
        record.pop(key)
        text.append(f"{when} ", style="grey50")
    key, level = _take(record, LEVEL_KEYS)
    if key is not None:
        record.pop(key)
        name = str(level).lower()
        text.append(f"{str(level).upper():<5} ", style=LEVEL_STYLE.get(name, "bold"))
    key, message = _take(record, MESSAGE_KEYS)
    if key is not None:
        record.pop(key)
        text.append(str(message), style="bold")
    for name, value in record.items():
        if text:
            text.append(" ")
        text.append(f"{name}=", style="cyan")
        text.append_text(_value(value))
    return text
