"""`ame tui --web`: the same console in a browser, served by textual-serve, behind a token.

textual-serve has no authentication: whoever reaches its port gets a console that can run
tasks and deploy models as the user. So every request (page, static files, the websocket that
drives the console, downloads) must carry the random token printed at start: in the URL
(`/?token=…`), which sets an HttpOnly, SameSite=Strict cookie so the page's own requests
(its scripts, the websocket, whose URL the page builds without the token) carry it too. A
websocket from another origin is refused as well (no cross-site use of the cookie).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import socket
from typing import Any
from urllib.parse import urlsplit

COOKIE = "ame_console_token"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(command: str, host: str, port: int, token: str, title: str = "AME console"):
    """A textual-serve Server running `command` for each browser session, token-checked."""
    from aiohttp import web
    from textual_serve.server import Server

    def allowed(request: web.Request) -> bool:
        given = request.query.get("token") or request.cookies.get(COOKIE) or ""
        return hmac.compare_digest(given.encode(), token.encode())

    def same_origin(request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        return origin is None or urlsplit(origin).netloc == request.host

    @web.middleware
    async def check(request: web.Request, handler: Any) -> web.StreamResponse:
        if not allowed(request):
            raise web.HTTPForbidden(text="the AME console needs its token: use the URL it printed")
        if request.path == "/ws" and not same_origin(request):
            raise web.HTTPForbidden(text="the AME console refuses a websocket from another origin")
        response = await handler(request)
        if request.query.get("token") and request.path == "/":
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response

    class TokenServer(Server):
        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(check)
            return app

        async def handle_index(self, request: web.Request) -> Any:
            # links in the page follow the address the browser used (not the bind address,
            # which may be 0.0.0.0)
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        def initialize_logging(self) -> None:
            super().initialize_logging()
            # the access log would print every URL asked, the token with it
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

        async def on_startup(self, app: web.Application) -> None:
            pass  # `ame tui --web` prints its own lines (the URL with the token)

    return TokenServer(command, host=host, port=port, title=title)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def url(host: str, port: int, token: str) -> str:
    if host in (
        "0.0.0.0",
        "::",
        "",
    ):  # every address: name this machine, a browser can't use 0.0.0.0
        host = socket.gethostname()
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"
