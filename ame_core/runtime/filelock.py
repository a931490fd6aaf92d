"""Advisory file locks (fcntl.flock) shared by every process of a project.

A lock held by a living process is released by the kernel when that process dies, so "is it
held?" is a liveness test that a reused pid cannot fool: drivers, the scheduler and the local
MLflow server's start rely on that.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold `path`'s lock, waiting for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def try_exclusive(path: Path) -> Iterator[bool]:
    """Hold `path`'s lock if it is free; yields False (holding nothing) when it is taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def is_held(path: Path) -> bool:
    """Does some process hold `path`'s lock right now?"""
    if not path.exists():
        return False
    with try_exclusive(path) as free:
        return not free
