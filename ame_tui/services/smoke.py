"""The smoke request of the deployments view: one POST to a served model.

MLflow's servers take the body at /invocations; a V2 server (MLServer) is asked through the Open
Inference Protocol: the same rows as a V2 request at /v2/models/{name}/infer, typed by the
model's signature as the server states it."""

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


SPELLINGS = '1, 2.5, "a"  ·  1,2; 3,4 (rows)  ·  [1, 2.5]  ·  {"col": 1}  ·  a full body'


def _bare_rows(text: str) -> list[list[Any]] | None:
    """`1, 2.5, abc` (one row) or `1,2; 3,4` (rows): each value JSON if it parses, else the
    text itself; None when that is not what was typed."""
    rows = []
    for part in text.split(";"):
        if not part.strip():
            continue
        row = []
        for cell in part.split(","):
            cell = cell.strip()
            if not cell:
                return None
            try:
                row.append(json.loads(cell))
            except json.JSONDecodeError:
                row.append(cell.strip("'"))
        rows.append(row)
    return rows or None


def typed_payload(text: str, columns: list[str] | None = None) -> dict[str, Any]:
    """What the user typed, as an /invocations body. Accepts a full body
    (`{"dataframe_split": ...}`), one row as bare values (`1, 2, 3`) or a list (`[1, 2, 3]`,
    with the example's columns), one row as a mapping, or several rows (`1,2; 3,4` or a list
    of lists). Raises ValueError with the reason and the spellings taken."""
    text = text.strip()
    if not text:
        raise ValueError(f"type a row: {SPELLINGS}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if text[0] in "[{":
            raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from exc
        value = _bare_rows(text)
        if value is None:
            raise ValueError(f"not a row: {text!r}; type {SPELLINGS}") from exc
    if not isinstance(value, (dict, list)):
        value = [value]  # one bare value: a row of one
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
    raise ValueError(f"type a row: {SPELLINGS}")


def _is_v2_request(payload: dict[str, Any]) -> bool:
    inputs = payload.get("inputs")
    return isinstance(inputs, list) and bool(inputs) and isinstance(inputs[0], dict)


def _v2_target(
    base: str, payload: dict[str, Any], model: str | None, timeout: float
) -> tuple[str, bytes]:
    """The V2 infer URL and body for an /invocations-shaped payload; ValueError says why not."""
    from ame_core.serving.health import v2_body, v2_model_name

    model = model or v2_model_name(base, timeout)
    if not model:
        raise ValueError("the V2 server does not say its model's name")
    body = json.dumps(payload).encode()
    if not _is_v2_request(payload):
        body = v2_body(base, model, body, None, timeout)
    return f"{base}/v2/models/{model}/infer", body


def send(
    url: str,
    payload: dict[str, Any],
    timeout: float = 30.0,
    *,
    protocol: str | None = None,
    model: str | None = None,
) -> SmokeResult:
    """POST `payload` (an /invocations body); `protocol` "v2" or "mlflow", None asks the server."""
    base = url.rstrip("/").removesuffix("/invocations")
    started = time.perf_counter()
    if protocol is None:
        from ame_core.serving.health import detect_protocol

        protocol = detect_protocol(base, min(timeout, 5.0))
    endpoint, body = f"{base}/invocations", json.dumps(payload).encode()
    if protocol == "v2":
        try:
            endpoint, body = _v2_target(base, payload, model, timeout)
        except ValueError as exc:
            latency = (time.perf_counter() - started) * 1000
            return SmokeResult(False, None, latency, f"no V2 request: {exc}")
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
