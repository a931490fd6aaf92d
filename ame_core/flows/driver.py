"""The detached driver of one local flow: `python -m ame_core.flows.driver <flows dir> <id>`.

Started by `ame_core.flows.local.LocalFlowStore.launch` in its own session, so closing the
terminal, Ctrl-C in the client, or the client's death do not reach it. It holds the flow's
driver lock while it lives; a second driver finds the lock taken and leaves at once.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from ame_core.flows.engine import FlowEngine, driver_identity
from ame_core.flows.local import LocalFlowStore
from ame_core.flows.records import FlowRecord, FlowStatus


def open_lifecycle(record: FlowRecord) -> object:
    """The lifecycle the flow's steps run on, from where the flow was started."""
    from ame_core.lifecycle import Lifecycle

    origin = record.origin
    return Lifecycle.open(
        origin.get("project_dir"),
        backend=record.backend,
        tracking_uri=origin.get("tracking_uri"),
        context=origin.get("context"),
        namespace=origin.get("namespace"),
        say=lambda line: print(f"[lifecycle] {line}", flush=True),
    )


def drive(store: LocalFlowStore, flow_id: str) -> int:
    with store.hold_driver_lock(flow_id) as mine:
        if not mine:
            return 0  # another driver has it
        record = store.update(flow_id, lambda r: setattr(r, "driver", driver_identity()))
        if record.status.finished:
            return 0
        try:
            lifecycle = open_lifecycle(record)
        except Exception as exc:  # noqa: BLE001 - the project can no longer be read: say so, do not hang
            from ame_core.flows.steps import user_error

            reason = user_error(exc) or f"internal error: {type(exc).__name__}: {exc}"

            def fail(r: FlowRecord) -> None:
                r.status, r.reason = FlowStatus.FAILED, f"cannot open the project: {reason}"
                r.event(f"flow failed: {r.reason}")

            store.update(flow_id, fail)
            print(reason, flush=True)
            return 1
        FlowEngine(store, record, lifecycle).drive()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m ame_core.flows.driver FLOWS_DIR FLOW_ID", file=sys.stderr)
        return 2
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # No terminal to lose; a SIGTERM (shutdown) ends the driver and the next look resumes it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    flows_dir = Path(args[0])
    store = LocalFlowStore(flows_dir.parent.parent)
    return drive(store, args[1])


if __name__ == "__main__":
    sys.exit(main())
