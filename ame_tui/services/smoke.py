"""The smoke request of the deployments view: one POST to a served model's /invocations."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class SmokeResult:
    ok: bool
    status: int | None
    latency_ms: float
    answer: str


def typed_payload(text: str, columns: list[str] | None = None) -> dict[str, Any]:
    """What the user typed, as an /invocations body. Accepts a full body
    (`{"dataframe_split": ...}`), one row as a list (`[1, 2, 3]`, with the example's
    columns), one row as a mapping, or several rows. Raises ValueError with the reason."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from exc
    if isinstance(value, dict):
        if any(k in value for k in ("dataframe_split", "dataframe_records", "inputs", "instances")):
            return value
        return {"dataframe_records": [value]}
    if isinstance(value, list):
        rows = value if value and isinstance(value[0], list) else [value]
        if columns:
            for row in rows:
                if len(row) != len(columns):
                    raise ValueError(f"a row needs {len(columns)} values, got {len(row)}")
            return {"dataframe_split": {"columns": columns, "data": rows}}
        return {"inputs": rows}
    raise ValueError("type a JSON row: a list of values or a mapping of column to value")


def send(url: str, payload: dict[str, Any], timeout: float = 30.0) -> SmokeResult:
    endpoint = url.rstrip("/")
    if not endpoint.endswith("/invocations"):
        endpoint += "/invocations"
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        endpoint, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            text = response.read().decode("utf-8", "replace")
            status = response.status
    except urllib.error.HTTPError as exc:
        latency = (time.perf_counter() - started) * 1000
        detail = exc.read().decode("utf-8", "replace")
        return SmokeResult(False, exc.code, latency, _short(detail))
    except (OSError, ValueError) as exc:
        latency = (time.perf_counter() - started) * 1000
        return SmokeResult(False, None, latency, f"no answer: {getattr(exc, 'reason', exc)}")
    latency = (time.perf_counter() - started) * 1000
    return SmokeResult(200 <= status < 300, status, latency, _short(text))


def _short(text: str, limit: int = 2000) -> str:
    try:
        text = json.dumps(json.loads(text))
    except (json.JSONDecodeError, ValueError):
        pass
    return text if len(text) <= limit else text[:limit] + " …"
