"""Serving health as a client sees it: is the server ready, and how fast is a smoke request.

Two protocols: MLflow's (`/ping`, `/invocations`) and the Open Inference Protocol V2 that
MLServer and KServe speak (`/v2/health/ready`, `/v2/models/{name}/infer`). The V2 smoke request
is built from the version's input example, typed by the signature (given, or as the server's
own model metadata states it)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class Health:
    ping_ok: bool
    ping_ms: float | None = None
    smoke_ok: bool | None = None  # None: no input example to send
    smoke_ms: float | None = None
    detail: str | None = None
    protocol: str = "mlflow"


def _request(url: str, data: bytes | None, timeout: float) -> tuple[int | None, str, float]:
    start = time.perf_counter()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read().decode(errors="replace")
            status: int | None = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read().decode(errors="replace"), exc.code
    except (OSError, urllib.error.URLError) as exc:
        body, status = str(getattr(exc, "reason", exc)), None
    return status, body, round((time.perf_counter() - start) * 1000.0, 1)


def v2_model_name(base: str, timeout: float) -> str | None:
    """The one model a V2 server serves (MLServer's repository index), if it says."""
    status, body, _ = _request(f"{base}/v2/repository/index", b"{}", timeout)
    if status != 200:
        return None
    try:
        names = [str(item["name"]) for item in json.loads(body)]
    except (ValueError, KeyError, TypeError):
        return None
    return names[0] if len(names) == 1 else None


def v2_body(
    base: str,
    model: str,
    example: bytes,
    signature: list[dict[str, Any]] | None,
    timeout: float,
) -> bytes:
    """A V2 inference request from an MLflow input example; ValueError says why none."""
    from ame_core.serving import v2

    if signature is None:
        status, body, _ = _request(f"{base}/v2/models/{model}", None, timeout)
        if status != 200:
            raise ValueError(f"/v2/models/{model} answered {status}: {body[:200]}")
        signature = v2.signature_from_metadata(json.loads(body))
    try:
        parsed = json.loads(example)
    except ValueError as exc:
        raise ValueError(f"the input example is not JSON: {exc}") from exc
    return json.dumps(v2.request(parsed, signature)).encode()


def detect_protocol(base: str, timeout: float) -> str:
    """'v2' when the server answers V2 readiness, else 'mlflow'."""
    status, _, _ = _request(f"{base}/v2/health/ready", None, timeout)
    return "v2" if status == 200 else "mlflow"


def probe(
    url: str,
    example: bytes | None = None,
    timeout: float = 10.0,
    *,
    protocol: str | None = None,
    model: str | None = None,
    signature: list[dict[str, Any]] | None = None,
) -> Health:
    """Readiness, then, with an input example (MLflow's /invocations body), one timed smoke
    request. `protocol` "mlflow" or "v2" (an endpoint's `extra["protocol"]`); None asks the
    server. For V2, `model` is the served name (else the server's index says) and `signature`
    the version's inputs (else the server's model metadata)."""
    base = url.rstrip("/")
    protocol = protocol or detect_protocol(base, timeout)
    ready = "/v2/health/ready" if protocol == "v2" else "/ping"
    status, body, ms = _request(f"{base}{ready}", None, timeout)
    if status != 200:
        why = f"{ready} answered {status}" if status else f"{ready}: {body}"
        return Health(ping_ok=False, ping_ms=ms if status else None, detail=why, protocol=protocol)
    health = Health(ping_ok=True, ping_ms=ms, protocol=protocol)
    if example is None:
        health.detail = "no input example logged with the model: no smoke request"
        return health
    path, data = "/invocations", example
    if protocol == "v2":
        model = model or v2_model_name(base, timeout)
        if not model:
            health.smoke_ok, health.detail = False, "the V2 server does not say its model's name"
            return health
        try:
            data = v2_body(base, model, example, signature, timeout)
        except ValueError as exc:
            health.smoke_ok, health.detail = False, f"no V2 request: {exc}"
            return health
        path = f"/v2/models/{model}/infer"
    status, body, ms = _request(f"{base}{path}", data, timeout)
    health.smoke_ok = status == 200
    health.smoke_ms = ms
    if status != 200:
        health.detail = f"{path} answered {status}: {body[:200]}" if status else body
    return health


def probe_endpoint(endpoint: Any, example: bytes | None = None, timeout: float = 10.0) -> Health:
    """`probe` with the protocol and model name the backend recorded for the endpoint."""
    extra = getattr(endpoint, "extra", None) or {}
    return probe(
        endpoint.url or "",
        example,
        timeout,
        protocol=extra.get("protocol"),
        model=extra.get("v2_model") or (endpoint.model if extra.get("protocol") == "v2" else None),
    )
