"""`ame tui --web`: the console served by textual-serve behind its token, as a browser talks to
it (the page, then the websocket that drives the console), in a real `ame tui --web` process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
from tui_data import tracking_uri

from ame_core.net import free_port

ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


@pytest.fixture
def served(demo):
    port = free_port()
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", AME_BACKEND="local")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ame_cli", "tui", "--web", "--port", str(port),
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


# --- in a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium; installed here when apt and root are at hand, else the test skips."""
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=300)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, timeout=900
        )
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("no chromium here and it cannot be installed (needs apt-get as root)")
    return found


class Browser:
    """Headless Chromium driven over the DevTools protocol (CDP), one page."""

    def __init__(self, ws) -> None:
        self.ws, self.next_id, self.frames = ws, 0, []

    async def call(self, method: str, **params):
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=60)
            self._event(message)
            if message.get("id") == self.next_id:
                return message.get("result", {})

    def _event(self, message: dict) -> None:
        import base64

        if message.get("method") == "Network.webSocketFrameReceived":
            response = message["params"]["response"]
            data = response["payloadData"]
            raw = base64.b64decode(data) if response.get("opcode") == 2 else data.encode()
            self.frames.append(raw.decode("utf-8", "replace"))

    def seen(self) -> str:
        return ANSI.sub("", "".join(self.frames))

    async def until(self, wanted: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while wanted not in self.seen():
            if time.monotonic() > deadline:
                raise AssertionError(f"{wanted!r} never reached the page: {self.seen()[-400:]!r}")
            try:
                self._event(await self.ws.receive_json(timeout=1))
            except TimeoutError:
                pass

    async def text(self) -> str:
        result = await self.call("Runtime.evaluate", expression="document.body.innerText")
        return result["result"].get("value", "")


async def test_in_chromium_the_page_draws_the_console_and_keys_reach_it(
    served, chromium, tmp_path
) -> None:
    import json as jsonlib
    import urllib.request

    import aiohttp

    base, token, _ = served
    port = free_port()
    proc = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
         f"--remote-debugging-port={port}", f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1400,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                    pages = [t for t in jsonlib.load(r) if t["type"] == "page"]
                if pages:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "chromium did not start"
            time.sleep(0.2)
        debugger = pages[0]["webSocketDebuggerUrl"]
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(debugger, max_msg_size=0) as ws,
        ):
            if True:  # one page for the whole test
                page = Browser(ws)
                await page.call("Network.enable")
                await page.call("Page.enable")
                await page.call("Page.navigate", url=f"{base}/")  # no token: no console
                deadline = time.monotonic() + 30
                while "needs its token" not in await page.text():
                    assert time.monotonic() < deadline, await page.text()
                    await asyncio.sleep(0.2)
                await page.call("Page.navigate", url=f"{base}/?token={token}")
                await page.until("MODEL")  # the Models view, drawn in the page's terminal
                await page.until("logreg")
                page.frames.clear()
                focus = "document.querySelector('.xterm-helper-textarea').focus()"
                await page.call("Runtime.evaluate", expression=focus)  # as a click on it does
                await page.call("Input.dispatchKeyEvent", type="keyDown", key="3", text="3")
                await page.call("Input.dispatchKeyEvent", type="keyUp", key="3")
                await page.until("STATUS")  # the key reached the app: Runs is shown
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
