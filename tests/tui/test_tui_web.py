"""`ame tui --web`: the console served by textual-serve behind its token, as a browser talks to
it (the page, then the websocket that drives the console), in a real `ame tui --web` process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
from tui_data import tracking_uri

ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(demo):
    port = free_port()
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", AME_BACKEND="local")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ame_core", "tui", "--web", "--port", str(port),
         "--project", str(demo.project), "--mlflow-uri", tracking_uri(demo.project)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()  # the URL comes first
        match = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        base, token = match.groups()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # listening yet?
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield base, token, line
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


async def read_until(ws, wanted: str, seen: list[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wanted in ANSI.sub("", "".join(seen)):
            return
        try:
            message = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        if message.data is None:
            break
        data = message.data
        seen.append(data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data))
    raise AssertionError(f"{wanted!r} never came: {ANSI.sub('', ''.join(seen))[-500:]!r}")


async def test_the_console_needs_its_token_and_runs_in_the_page(served) -> None:
    import aiohttp

    base, token, printed = served
    assert printed.startswith("AME console for quickstart in a browser: http://127.0.0.1:")
    async with aiohttp.ClientSession() as anonymous:
        for path in ("/", "/ws?width=80&height=24", "/static/js/textual.js", "/?token=wrong"):
            async with anonymous.get(base + path) as response:
                assert response.status == 403, path
                assert "needs its token" in await response.text()
    # a browser keeps cookies of an IP address; aiohttp does only when told
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(f"{base}/?token={token}") as response:
            assert response.status == 200
            page = await response.text()
            assert "data-session-websocket-url" in page and "AME console" in page
        async with browser.get(f"{base}/static/js/textual.js") as response:
            assert response.status == 200  # the page's own requests carry the cookie
        # another site's page cannot drive the console with the cookie
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await browser.ws_connect(f"{base}/ws", headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403
        async with browser.ws_connect(f"{base}/ws?width=140&height=36") as ws:
            seen: list[str] = []
            await read_until(ws, "MODEL", seen)  # the Models view, drawn in the page
            await read_until(ws, "logreg", seen)
            await ws.send_json(["stdin", "3"])  # a key press reaches the app: Runs opens
            seen.clear()
            await read_until(ws, "STATUS", seen)
            await read_until(ws, "Runs", seen)
