"""Serving health as a client sees it: does `/ping` answer, and how fast is a smoke request."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass
class Health:
    ping_ok: bool
    ping_ms: float | None = None
    smoke_ok: bool | None = None  # None: no input example to send
    smoke_ms: float | None = None
    detail: str | None = None


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


def probe(url: str, example: bytes | None = None, timeout: float = 10.0) -> Health:
    """GET /ping; then, with an input example, POST it to /invocations and time the answer."""
    base = url.rstrip("/")
    status, body, ms = _request(f"{base}/ping", None, timeout)
    if status != 200:
        why = f"/ping answered {status}" if status else f"/ping: {body}"
        return Health(ping_ok=False, ping_ms=ms if status else None, detail=why)
    health = Health(ping_ok=True, ping_ms=ms)
    if example is None:
        health.detail = "no input example logged with the model: no smoke request"
        return health
    status, body, ms = _request(f"{base}/invocations", example, timeout)
    health.smoke_ok = status == 200
    health.smoke_ms = ms
    if status != 200:
        health.detail = f"/invocations answered {status}: {body[:200]}" if status else body
    return health
