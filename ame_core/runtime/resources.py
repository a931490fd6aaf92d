"""What this machine has (CPUs, memory, GPUs, free disk) and whether a run's request fits.

The inventory can be injected (constructor argument, or `AME_FAKE_GPUS` / `AME_FAKE_CPUS` /
`AME_FAKE_MEMORY` / `AME_FAKE_STORAGE` in the environment) so GPU admission is testable on a
machine without GPUs. `storage` is the free space of the project's file system, measured at each
admission (it changes as runs write), not part of the cached inventory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from ame_core.quantity import QuantityError, format_bytes, format_quantity, parse_quantity

GPU_KEY = "nvidia.com/gpu"
# Scratch disk: `storage` locally is the project's file system (`ephemeral-storage` on a cluster).
STORAGE_KEYS = ("storage", "ephemeral-storage")


@dataclass(frozen=True)
class Inventory:
    cpus: Decimal
    memory: Decimal  # bytes
    gpus: tuple[str, ...] = ()  # device indices as CUDA_VISIBLE_DEVICES spells them
    gpu_names: tuple[str, ...] = ()
    storage: Decimal | None = None  # free bytes on the project's file system; None: unknown

    def describe(self) -> str:
        gpus = f", {len(self.gpus)} GPU(s)" if self.gpus else ", no GPU"
        return f"{format_quantity(self.cpus)} CPU(s), {format_bytes(self.memory)} memory{gpus}"


@dataclass
class Request:
    cpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)
    gpus: int = 0
    storage: Decimal = Decimal(0)
    other: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def of(cls, resources: dict[str, Any] | None) -> Request:
        req = cls()
        for name, value in (resources or {}).items():
            try:
                amount = parse_quantity(value)
            except QuantityError as exc:
                raise ValueError(f"resources.{name}: {exc}") from None
            if name == "cpu":
                req.cpu = amount
            elif name == "memory":
                req.memory = amount
            elif name == GPU_KEY:
                req.gpus = int(amount)
            elif name in STORAGE_KEYS:
                req.storage += amount
            else:
                req.other[name] = amount
        return req

    def add(self, other: Request) -> None:
        self.cpu += other.cpu
        self.memory += other.memory
        self.gpus += other.gpus
        self.storage += other.storage


def _memory_total() -> Decimal:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return Decimal(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        return Decimal(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError):
        return Decimal(0)


def _cpu_count() -> Decimal:
    try:
        return Decimal(len(os.sched_getaffinity(0)))
    except AttributeError:
        return Decimal(os.cpu_count() or 1)


def _nvidia_gpus() -> tuple[tuple[str, ...], tuple[str, ...]]:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return (), ()
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return (), ()
    ids, names = [], []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",", 1)]
        if parts and parts[0].isdigit():
            ids.append(parts[0])
            names.append(parts[1] if len(parts) > 1 else "GPU")
    return tuple(ids), tuple(names)


def detect_inventory() -> Inventory:
    """This machine, with any `AME_FAKE_*` overrides applied (tests, what-if)."""
    env = os.environ
    cpus = Decimal(env["AME_FAKE_CPUS"]) if env.get("AME_FAKE_CPUS") else _cpu_count()
    if env.get("AME_FAKE_MEMORY"):
        memory = parse_quantity(env["AME_FAKE_MEMORY"])
    else:
        memory = _memory_total()
    if env.get("AME_FAKE_GPUS") is not None and env.get("AME_FAKE_GPUS") != "":
        count = int(env["AME_FAKE_GPUS"])
        gpus, names = tuple(str(i) for i in range(count)), ("fake GPU",) * count
    else:
        gpus, names = _nvidia_gpus()
    return Inventory(cpus, memory, gpus, names)


def with_storage(inv: Inventory, project_dir: Path) -> Inventory:
    """`inv` with the free space of `project_dir`'s file system now (`AME_FAKE_STORAGE` wins;
    an injected inventory's own figure is kept)."""
    if inv.storage is not None:
        return inv
    fake = os.environ.get("AME_FAKE_STORAGE")
    if fake:
        return replace(inv, storage=parse_quantity(fake))
    try:
        return replace(inv, storage=Decimal(shutil.disk_usage(project_dir).free))
    except OSError:
        return inv


def too_large(req: Request, inv: Inventory) -> str | None:
    """Why the request can never run on this machine, with the numbers; None if it can."""
    problems = []
    if req.cpu > inv.cpus:
        problems.append(
            f"cpu {format_quantity(req.cpu)} requested, the machine has {format_quantity(inv.cpus)}"
        )
    if req.memory > inv.memory:
        problems.append(
            f"memory {format_bytes(req.memory)} requested, "
            f"the machine has {format_bytes(inv.memory)}"
        )
    if req.gpus > len(inv.gpus):
        problems.append(f"{GPU_KEY} {req.gpus} requested, the machine has {len(inv.gpus)}")
    if req.storage and inv.storage is None:
        problems.append(
            f"storage {format_bytes(req.storage)} requested, the free space of the project's "
            "file system is unknown"
        )
    elif req.storage > (inv.storage or 0):
        problems.append(
            f"storage {format_bytes(req.storage)} requested, the project's file system has "
            f"{format_bytes(inv.storage or Decimal(0))} free"
        )
    for name, amount in req.other.items():
        problems.append(f"{name} {format_quantity(amount)} requested, the machine has none")
    return "; ".join(problems) or None


def waiting_reason(req: Request, used: Request, inv: Inventory) -> str | None:
    """Why the request does not fit next to the running ones now; None if it fits."""
    problems = []
    if used.cpu + req.cpu > inv.cpus:
        problems.append(
            f"cpu: {format_quantity(req.cpu)} requested, "
            f"{format_quantity(inv.cpus - used.cpu)} of {format_quantity(inv.cpus)} free"
        )
    if used.memory + req.memory > inv.memory:
        problems.append(
            f"memory: {format_bytes(req.memory)} requested, "
            f"{format_bytes(max(inv.memory - used.memory, Decimal(0)))} free"
        )
    if used.gpus + req.gpus > len(inv.gpus):
        problems.append(
            f"GPUs: {req.gpus} requested, {len(inv.gpus) - used.gpus} of {len(inv.gpus)} free"
        )
    # Admitted runs hold their storage: they may not have written it yet.
    if req.storage and used.storage + req.storage > (inv.storage or 0):
        problems.append(
            f"storage: {format_bytes(req.storage)} requested, "
            f"{format_bytes(max((inv.storage or Decimal(0)) - used.storage, Decimal(0)))} free"
        )
    return ("waiting for resources: " + "; ".join(problems)) if problems else None


def assign_gpus(count: int, in_use: set[str], inv: Inventory) -> list[str]:
    free = [g for g in inv.gpus if g not in in_use]
    return free[:count]
