"""JSON-RPC as the spec says, where pygls falls short: every request gets a response.

- A request whose params do not match the method's type gets an InvalidParams error response
  (pygls only logged it and showed a message; the client waited for ever).
- A request after `shutdown` gets an InvalidRequest error response (pygls dropped it).
- `exit` without `shutdown` ends the process with code 1 (`main` returns `exit_code`).
- UTF-32 columns when the client offers them (ame_core's own), else UTF-16.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger("ame_lsp")


class _Answered:
    """A message already answered with an error while it was read: nothing more to do."""

    jsonrpc = "2.0"


_ANSWERED = _Answered()


class AmeProtocol(LanguageServerProtocol):
    exit_code = 0

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            method = data.get("method")
            if "id" in data and isinstance(method, str):
                detail = f"{method}: params do not match the method's parameters"
                code = JsonRpcInvalidParams.CODE if isinstance(exc, JsonRpcInvalidParams) else None
                self._send_response(
                    data["id"],
                    error=types.ResponseError(code=code or exc.code, message=detail),
                )
            else:
                log.warning("dropped a malformed %s notification", method or "JSON-RPC")
            return _ANSWERED

    def handle_message(self, message: Any) -> None:
        if message is _ANSWERED:
            return
        method = getattr(message, "method", None)
        if self._shutdown and method not in (None, types.EXIT) and hasattr(message, "id"):
            self._send_response(
                message.id,
                error=types.ResponseError(
                    code=JsonRpcInvalidRequest.CODE,
                    message=f"{method}: the server is shut down (only `exit` is accepted)",
                ),
            )
            return
        super().handle_message(message)

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Any:
        self.exit_code = 0 if self._shutdown else 1  # the spec: 1 without a shutdown first
        return (yield from super().lsp_exit(*args))

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Any:
        from ame_lsp.code_lens import lenses_wanted
        from ame_lsp.diagnostics import client_pulls

        _prefer_utf32(params)
        result = yield from super().lsp_initialize(params)
        if not client_pulls(params.capabilities) and result is not None:
            # A client that may pull would do so beside our pushes: offer one way only.
            result.capabilities.diagnostic_provider = None
        if not lenses_wanted(params) and result is not None:
            result.capabilities.code_lens_provider = None  # off: none to show
        return result


def _prefer_utf32(params: types.InitializeParams) -> None:
    """UTF-32 columns are ame_core's own; else UTF-16, which every client must support."""
    general = params.capabilities.general
    offered = list(general.position_encodings or []) if general is not None else []
    choice = (
        types.PositionEncodingKind.Utf32
        if types.PositionEncodingKind.Utf32 in offered
        else types.PositionEncodingKind.Utf16
    )
    if general is not None and offered:
        general.position_encodings = [choice]
