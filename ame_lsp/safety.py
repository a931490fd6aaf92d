"""A bug in one feature must not take the server down: log it, answer with an empty result."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from lsprotocol import types

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("ame_lsp")


class UserError(Exception):
    """A request the user should hear "no" to (e.g. an invalid new name), not a bug."""


def _refuse(exc: UserError) -> Exception:
    from pygls.exceptions import JsonRpcInvalidParams

    return JsonRpcInvalidParams(message=str(exc))


def report_failure(server: Any, feature: str, exc: BaseException) -> None:
    """Tell the client (window/logMessage) and the log; never raise from here."""
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=8))
    log.error("ame-lsp: %s failed: %s", feature, detail)
    try:
        server.window_log_message(
            types.LogMessageParams(
                type=types.MessageType.Error,
                message=f"ame-lsp: {feature} failed ({type(exc).__name__}: {exc}); "
                f"the request got an empty answer.\n{detail}",
            )
        )
    except Exception:  # the client connection itself may be the problem
        log.exception("could not send window/logMessage")


def _injected_fault(feature: str) -> None:
    """Test hook: AME_LSP_FAULT=hover,completion makes those features raise, to prove that a
    failing feature is contained (the crash-resistance tests use it)."""
    faults = os.environ.get("AME_LSP_FAULT")
    if faults and feature in faults.split(","):
        raise RuntimeError(f"injected fault in {feature} (AME_LSP_FAULT)")


def safe(server: Any, feature: str, default: Callable[[], Any] = lambda: None) -> Callable[[F], F]:
    """Wrap a feature handler: any exception is reported and `default()` is returned."""

    def decorate(func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    _injected_fault(feature)
                    return await func(*args, **kwargs)
                except UserError as exc:
                    raise _refuse(exc) from None
                except Exception as exc:  # noqa: BLE001 - the purpose of this module: a feature's bug is reported
                    report_failure(server, feature, exc)
                    return default()

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                _injected_fault(feature)
                return func(*args, **kwargs)
            except UserError as exc:
                raise _refuse(exc) from None
            except Exception as exc:  # noqa: BLE001 - the purpose of this module: a feature's bug is reported
                report_failure(server, feature, exc)
                return default()

        return run  # type: ignore[return-value]

    return decorate
