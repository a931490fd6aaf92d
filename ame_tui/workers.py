"""Thread workers whose failure is reported, never fatal.

Textual closes the app when a worker raises. For the console that would lose what the app is
still waiting on (a verdict to record, an autoDeploy to do) and print a traceback. So every
worker here runs through `background`: a failure becomes a `WorkerCrashed` message, which the
app shows as one line and keeps (`AmeApp.worker_errors`, read by the tests), and the app runs on.

Thread workers run in the event loop's default executor; the app makes it a `DaemonExecutor`, so
quitting does not wait for a worker still blocked on a slow backend or an unreachable MLflow
(flows and runs are detached processes: nothing of theirs lives in a worker).
"""

from __future__ import annotations

import functools
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from textual import work

from ame_core.errors import one_line
from ame_tui.messages import WorkerCrashed


def background(*, group: str = "default", exclusive: bool = False) -> Callable[[Any], Any]:
    """`@work(thread=True)` whose exceptions are reported to the app instead of closing it."""

    def decorate(method: Callable[..., Any]) -> Any:
        @functools.wraps(method)
        def guarded(node: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(node, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - reported: see the module's docstring
                _report(node, method.__name__, exc)
                return None

        return work(thread=True, group=group, exclusive=exclusive)(guarded)

    return decorate


def _report(node: Any, name: str, exc: Exception) -> None:
    try:
        app = node.app
    except Exception:  # noqa: BLE001 - the node has left the app (its screen closed)
        return
    where = f"{type(node).__name__}.{name}"  # for the bug report
    app.post_message(WorkerCrashed(where, one_line(exc), traceback.format_exc()))


class DaemonExecutor(ThreadPoolExecutor):
    """Each call on a daemon thread of its own: the interpreter exits without joining them
    (a plain ThreadPoolExecutor's threads are joined at exit, however long their call blocks).
    A ThreadPoolExecutor by type only, as asyncio's set_default_executor requires; it never
    starts the pool's own threads."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting worker
                future.set_exception(exc)

        threading.Thread(target=run, name="ame-worker", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to join: the loop's close must not wait for a blocked call either."""
