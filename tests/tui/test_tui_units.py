"""The parts of the TUI that need no terminal: the log index, payloads, the CLI front."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ame_core.errors import one_line
from ame_tui.services.context import display_uri
from ame_tui.services.logstore import BLOCK, LineStore
from ame_tui.services.smoke import typed_payload
from ame_tui.widgets.metric_chart import chart_rows

REPO = Path(__file__).resolve().parents[2]


def test_line_store_random_access_growth_and_search(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    lines = [f"line {i} " + "x" * (i % 300) for i in range(20000)]
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 4 * BLOCK  # several checkpoints
    store = LineStore(path)
    assert store.refresh() and store.line_count == 20000
    for first in (0, 1, 777, 12345, 19990):
        assert store.read_lines(first, 5) == lines[first : first + 5]
    assert store.find("LINE 12345 ", 0) == 12345  # case-insensitive
    assert store.find("line 100 ", 5000, backwards=True) == 100
    assert store.find("no such text", 0) is None
    with path.open("a") as out:
        out.write("partial")
    assert store.refresh() and store.line_count == 20001
    assert store.read_lines(20000, 1) == ["partial"]
    with path.open("a") as out:
        out.write(" done\n\x1b[32mcolour\x1b[0m\r\nprogress 10%\rprogress 100%\n")
    store.refresh()
    assert store.read_lines(20000, 3) == ["partial done", "\x1b[32mcolour\x1b[0m", "progress 100%"]
    assert not store.refresh()  # nothing new


def test_line_store_missing_and_truncated_files(tmp_path: Path) -> None:
    path = tmp_path / "later.log"
    store = LineStore(path)
    assert not store.refresh() and store.line_count == 0
    path.write_text("a\nb\n")
    assert store.refresh() and store.read_lines(0, 5) == ["a", "b"]
    path.write_text("c\n")
    assert store.refresh() and store.read_lines(0, 5) == ["c"]
    path.unlink()  # a run folder cleaned up while its log is shown: no error, nothing more
    assert not store.refresh()
    assert store.read_lines(0, 5) == [] and store.find("c", 0) is None
    assert store.cached(0) == "c"


def test_an_error_is_told_in_one_line() -> None:
    assert one_line(RuntimeError("  connection refused\n  at host:5000\n")) == "connection refused"
    # an error without text (a bare timeout) is named, not an IndexError in the worker
    assert one_line(TimeoutError()) == "TimeoutError"


def test_typed_rows_become_invocation_bodies() -> None:
    assert typed_payload("[1, 2]", ["a", "b"]) == {
        "dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}
    }
    assert typed_payload("[1, 2]") == {"inputs": [[1, 2]]}
    assert typed_payload('{"a": 1}') == {"dataframe_records": [{"a": 1}]}
    body = {"dataframe_split": {"columns": ["a"], "data": [[1]]}}
    assert typed_payload(__import__("json").dumps(body)) == body
    with pytest.raises(ValueError, match="needs 2 values"):
        typed_payload("[1]", ["a", "b"])
    with pytest.raises(ValueError, match="not JSON"):
        typed_payload("[1,")


def test_uris_show_no_credentials_and_no_machine_paths(tmp_path: Path) -> None:
    assert display_uri("https://user:s3cret@mlflow.example.com/path?token=abc") == (
        "https://mlflow.example.com/path"
    )
    # A port out of range fails the parse: the credentials still do not reach the screen.
    assert "s3cret" not in display_uri("http://user:s3cret@mlflow:99999/")
    store = tmp_path / ".ame" / "mlflow.db"
    assert display_uri(f"sqlite:///{store}", tmp_path) == "sqlite:///.ame/mlflow.db"


def test_chart_rows_draw_the_shape() -> None:
    rows = chart_rows([0, 1, 2, 3], 4, 2)
    assert len(rows) == 2 and rows[1][0] != "█" and rows[0][-1] == "█"
    assert len(chart_rows([1, 2, 3], 12, 1)[0]) == 12  # stretched to the width
    assert chart_rows([5, 5], 2, 1) == ["██"]


def test_cli_help_and_a_missing_project(tmp_path: Path) -> None:
    ame = [sys.executable, "-m", "ame_cli"]
    out = subprocess.run([*ame, "tui", "--help"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0 and "--read-only" in out.stdout
    out = subprocess.run(
        [*ame, "--project", str(tmp_path), "tui"], capture_output=True, text=True, cwd=REPO
    )
    assert out.returncode == 2 and "no ame.yml" in out.stderr and "Traceback" not in out.stderr


def test_ame_lint_does_not_import_textual() -> None:
    code = "import sys, ame_cli.main as m; m.build_parser(); print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "False"


def test_ame_tui_runs_in_a_real_terminal_and_quits(tmp_path: Path) -> None:
    """`ame tui` in a pseudo-terminal: it draws, `:runs` switches the view, `q` quits."""
    import os
    import pty
    import select
    import shutil
    import time

    project = tmp_path / "quickstart"
    shutil.copytree(
        REPO / "examples" / "quickstart", project, ignore=shutil.ignore_patterns(".ame", ".venv")
    )
    env = dict(
        os.environ,
        TERM="xterm-256color",
        COLUMNS="120",
        LINES="30",
        MLFLOW_DISABLE_TELEMETRY="true",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real command line
        os.chdir(REPO)
        os.execve(
            sys.executable,
            [sys.executable, "-m", "ame_cli", "tui", "--project", str(project)],
            env,
        )
    seen = b""

    def read_until(marker: bytes, timeout: float = 120.0) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"{marker!r} not drawn; got {seen[-500:]!r}")
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break

    def press_until(key: bytes, marker: bytes, timeout: float = 120.0) -> None:
        """Press `key` until `marker` is drawn: a key pressed while the app still starts up
        may go unseen. Pressing ':' twice is harmless (the prompt takes ':runs' too)."""
        deadline = time.monotonic() + timeout
        while True:
            os.write(fd, key)
            try:
                read_until(marker, timeout=2.0)
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise

    try:
        read_until(b"quickstart")
        read_until(b"Quit")
        press_until(b":", b"problems | help")  # the jump prompt
        os.write(fd, b"runs\r")
        read_until(b"active")  # the runs view: "0 runs, 0 active"
        os.write(fd, b"q")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            select.select([fd], [], [], 0.2) and _drain(fd)
        else:
            raise AssertionError("ame tui did not quit")
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def _drain(fd: int) -> None:
    import os

    try:
        os.read(fd, 65536)
    except OSError:
        pass


def test_a_watched_canary_shows_its_split_and_figures() -> None:
    from ame_tui.services.flows import canary_text

    assert canary_text({}) is None
    started = {"canary": {"plan": {"percent": 20.0}, "started_at": 1.0}}
    assert canary_text(started) == "canary 20%: watching"
    figures = {"canary_requests": 57.0, "canary_error_rate": 1.75, "canary_latency_p95_ms": 31.4}
    assert canary_text({**started, "figures": figures}) == (
        "canary 20%: 57 req, 1.75% err, p95 31 ms"
    )
