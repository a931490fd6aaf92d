"""`deployment.resources` on this machine, admitted as task resources are (runtime.resources):
what can never fit is refused before anything starts, with the numbers; GPUs are given to the
server through `CUDA_VISIBLE_DEVICES`, never two served models the same one.

Locally `replicas` are worker processes of one server, so a deployment asks for its resources
once per replica."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ame_core.runtime.backend import BackendError
from ame_core.runtime.resources import (
    Request,
    assign_gpus,
    detect_inventory,
    too_large,
    with_storage,
)


def request_of(resources: dict[str, Any] | None, replicas: int) -> Request:
    try:
        one = Request.of(resources)
    except ValueError as exc:
        raise BackendError(f"deployment.{exc}") from None
    return Request(
        cpu=one.cpu * replicas,
        memory=one.memory * replicas,
        gpus=one.gpus * replicas,
        storage=one.storage,  # the version's files and environment, shared by its workers
        other=dict(one.other),
    )


def admit(
    label: str,
    resources: dict[str, Any] | None,
    replicas: int,
    project_dir: Path,
    gpus_in_use: set[str],
) -> list[str]:
    """The GPUs the server gets (empty when none asked); BackendError when it cannot fit."""
    req = request_of(resources, replicas)
    if not (req.cpu or req.memory or req.gpus or req.storage or req.other):
        return []
    inventory = with_storage(detect_inventory(), project_dir)
    why = too_large(req, inventory)
    if why:
        per = f" ({replicas} replicas)" if replicas > 1 else ""
        raise BackendError(
            f"{label}: deployment.resources{per} ask for more than this machine has: {why}"
        )
    if not req.gpus:
        return []
    gpus = assign_gpus(req.gpus, gpus_in_use, inventory)
    if len(gpus) < req.gpus:
        free = len(inventory.gpus) - len(set(inventory.gpus) & gpus_in_use)
        raise BackendError(
            f"{label}: {req.gpus} GPU(s) requested, {free} of {len(inventory.gpus)} free "
            "(the others serve other models of this project: undeploy one, or ask for fewer)"
        )
    return gpus


def gpus_of(state: dict[str, Any] | None) -> set[str]:
    """The GPUs a model's servers hold (its served and its starting server)."""
    state = state or {}
    found: set[str] = set()
    for info in (state.get("server"), (state.get("pending") or {}).get("server")):
        found.update((info or {}).get("gpus") or [])
    return found
