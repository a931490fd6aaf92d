"""The keywords AME adds to JSON Schema for team policies, and the validator that knows them.

`x-ame-maxQuantity` / `x-ame-minQuantity` compare Kubernetes quantities exactly (`100G` is more
than `64Gi`) with the linter's own arithmetic (`ame_core.quantity`); `x-ame-maxDuration` /
`x-ame-minDuration` compare durations (`ame_core.durations`). A value that is not a quantity or
a duration is left alone: the format's own checks (AME301, AME305) report it. `x-ame-severity`
and `x-ame-message` are annotations read when an error is reported (`check`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from ame_core.durations import FormatValueError, parse_duration
from ame_core.quantity import QuantityError, format_quantity, parse_quantity

SEVERITIES = ("error", "warning", "info")
# keyword → what its value must be (checked when a policy file is loaded)
KEYWORDS: dict[str, str] = {
    "x-ame-maxQuantity": "a quantity such as 64Gi or 2",
    "x-ame-minQuantity": "a quantity such as 1Gi or 0.5",
    "x-ame-maxDuration": "a duration such as 30m",
    "x-ame-minDuration": "a duration such as 30s",
    "x-ame-severity": "one of error, warning, info",
    "x-ame-message": "a string",
}


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


def _duration(value: Any) -> float | None:
    try:
        return parse_duration(value)
    except FormatValueError:
        return None


def keyword_value_problem(keyword: str, value: Any) -> str | None:
    """Why a keyword's value in a policy cannot be used, or None."""
    if keyword in ("x-ame-maxQuantity", "x-ame-minQuantity"):
        ok = _quantity(value) is not None
    elif keyword in ("x-ame-maxDuration", "x-ame-minDuration"):
        ok = _duration(value) is not None
    elif keyword == "x-ame-severity":
        ok = value in SEVERITIES
    elif keyword == "x-ame-message":
        ok = isinstance(value, str)
    else:
        return f"unknown keyword {keyword}: AME knows {', '.join(KEYWORDS)}"
    return None if ok else f"{keyword} must be {KEYWORDS[keyword]}, not {value!r}"


def _compare(
    parse: Callable[[Any], Any], more: bool, noun: str
) -> Callable[[Any, Any, Any, Any], Iterator[Any]]:
    """A jsonschema keyword function: the instance must not be above (or below) the limit."""

    def keyword(validator: Any, limit: Any, instance: Any, schema: Any) -> Iterator[Any]:
        from jsonschema.exceptions import ValidationError

        value, bound = parse(instance), parse(limit)
        if value is None or bound is None:
            return
        if (value > bound) if more else (value < bound):
            word = "more" if more else "less"
            shown = instance if isinstance(instance, str) else format_quantity(value)
            yield ValidationError(f"{shown} is {word} than the {noun} {limit}")

    return keyword


VALIDATORS = {
    "x-ame-maxQuantity": _compare(_quantity, True, "maximum"),
    "x-ame-minQuantity": _compare(_quantity, False, "minimum"),
    "x-ame-maxDuration": _compare(_duration, True, "maximum"),
    "x-ame-minDuration": _compare(_duration, False, "minimum"),
}


def policy_validator_class() -> Any:
    """Draft 2020-12 with AME's keywords (jsonschema is imported here: it costs ~35 ms)."""
    global _CLASS
    if _CLASS is None:
        from jsonschema import Draft202012Validator, validators

        _CLASS = validators.extend(Draft202012Validator, VALIDATORS)
    return _CLASS


_CLASS: Any = None
