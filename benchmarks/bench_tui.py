"""Benchmarks of `ame tui`: time to first frame, time until the Models view shows the registered
versions (the project's MLflow server warm), idle CPU with 200 runs listed, open time of a
1,000,000-line log, and the log rate the view keeps up with. Prints figures beside references.

    .venv/bin/python benchmarks/bench_tui.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "tui"))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
PY = sys.executable


def project(tmp: Path) -> Path:
    from tui_data import write_project

    return write_project(tmp / "quickstart")


# --- 1. time to first frame -------------------------------------------------------------------

FIRST_FRAME = textwrap.dedent(
    """
    import sys, time
    t0 = time.perf_counter()
    import argparse
    from ame_cli.tui_cmd import build_context
    from ame_tui.app import AmeApp

    class Timed(AmeApp):
        def on_mount(self):
            super().on_mount()
            self.call_after_refresh(self._first)

        def _first(self):
            heavy = [m for m in ("mlflow", "kubernetes", "sklearn", "pandas") if m in sys.modules]
            print(f"{time.perf_counter() - t0:.4f} {','.join(heavy) or '-'}", flush=True)
            self.exit()

    args = argparse.Namespace(project=sys.argv[1], tui_project=None, backend="local",
                              mlflow_uri=None, context=None, namespace=None, read_only=False)
    Timed(build_context(args)).run(headless=True, size=(120, 40))
    """
)


def time_to_first_frame(proj: Path, repeat: int) -> None:
    frames, heavy = [], "-"
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = subprocess.run(
            [PY, "-c", FIRST_FRAME, str(proj)], capture_output=True, text=True, cwd=REPO
        )
        wall = time.perf_counter() - t0
        if out.returncode != 0:
            print(out.stderr[-2000:])
            raise SystemExit("first-frame child failed")
        inner, heavy = out.stdout.split()[-2:]
        frames.append(wall)
    base = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([PY, "-c", "import textual.app"], check=True)
        base.append(time.perf_counter() - t0)
    bare = empty_app_first_frame(repeat)
    m = statistics.median(frames)
    print(
        f"time to first frame (process start → first frame, median of {repeat}): {m:.2f} s "
        f"(target ≤ 1.5 s) | `python -c 'import textual.app'`: {statistics.median(base):.2f} s | "
        f"empty Textual app first frame: {bare:.2f} s | ratio to empty app: "
        f"{m / bare:.1f}x | heavy modules loaded before the first frame: {heavy}"
    )


def empty_app_first_frame(repeat: int) -> float:
    """Median seconds from process start to an empty Textual app's first frame (the peer)."""
    bare_app = "from textual.app import App\nclass A(App):\n def on_mount(self): self.call_after_refresh(self.exit)\nA().run(headless=True)"
    bare = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([PY, "-c", bare_app], check=True)
        bare.append(time.perf_counter() - t0)
    return statistics.median(bare)


# --- 1b. the Models view shows the registered versions ------------------------------------------

MODELS_SHOWN = textwrap.dedent(
    """
    import sys, time
    t0 = time.perf_counter()
    import argparse
    from ame_cli.tui_cmd import build_context
    from ame_tui.app import AmeApp

    want = int(sys.argv[2])

    class Timed(AmeApp):
        def on_mount(self):
            super().on_mount()
            self.set_interval(0.005, self._look)

        def _look(self):
            from ame_tui.screens.models import ModelsView
            from textual.widgets import DataTable

            view = self.screen
            if not isinstance(view, ModelsView) or not getattr(view, "loaded", False):
                return
            if view.query_one(DataTable).row_count >= want:
                self.call_after_refresh(self._shown)

        def _shown(self):
            heavy = [m for m in ("mlflow", "kubernetes", "sklearn", "pandas") if m in sys.modules]
            print(f"{time.perf_counter() - t0:.4f} {','.join(heavy) or '-'}", flush=True)
            self.exit()

    args = argparse.Namespace(project=sys.argv[1], tui_project=None, backend="local",
                              mlflow_uri=None, context=None, namespace=None, read_only=False)
    Timed(build_context(args)).run(headless=True, size=(160, 40))
    """
)


def register_versions(proj: Path, count: int) -> str:
    """Start the project's local MLflow server and register `count` versions of logreg."""
    from ame_core import tracking, tracking_server

    url = tracking_server.ensure(proj, announce=False)
    rest = tracking.rest(url, proj)
    rest.post("registered-models/create", {"name": "logreg"})
    experiment = rest.create_experiment("quickstart")
    for _ in range(count):
        run = rest.create_run(experiment, "train_logreg", {}, int(time.time() * 1000))
        info = run["info"]
        rest.update_run(info["run_id"], "FINISHED", int(time.time() * 1000))
        source = f"{info['artifact_uri']}/model"
        body = {"name": "logreg", "source": source, "run_id": info["run_id"]}
        rest.post("model-versions/create", body)
    return url


def models_shown(proj: Path, repeat: int, versions: int = 3) -> None:
    register_versions(proj, versions)
    shown, heavy = [], "-"
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = subprocess.run(
                [PY, "-c", MODELS_SHOWN, str(proj), str(versions)],
                capture_output=True,
                text=True,
                cwd=REPO,
                timeout=120,
            )
            wall = time.perf_counter() - t0
            if out.returncode != 0:
                print(out.stderr[-2000:])
                raise SystemExit("models-view child failed")
            heavy = out.stdout.split()[-1]
            shown.append(wall)
        peer = empty_app_first_frame(repeat)
    finally:
        from ame_core import tracking_server

        tracking_server.stop(proj)
    m = statistics.median(shown)
    print(
        f"Models view shows {versions} registered versions (process start → the frame with "
        f"them, MLflow server warm, median of {repeat}): {m:.2f} s (target ≤ 1.5 s) | empty "
        f"Textual app first frame: {peer:.2f} s | ratio: {m / peer:.1f}x | heavy modules "
        f"loaded: {heavy}"
    )


# --- 2. idle CPU with 200 runs ----------------------------------------------------------------

IDLE = textwrap.dedent(
    """
    import asyncio, resource, sys, time
    from pathlib import Path
    from ame_core.runtime.local import LocalBackend
    from ame_tui.app import AmeApp
    from ame_tui.services.context import AppContext

    proj = Path(sys.argv[1])
    seconds = float(sys.argv[2])
    backend = LocalBackend(proj)
    ctx = AppContext(project_dir=proj, project_file=proj / "ame.yml",
                     tracking_uri=f"sqlite:///{proj / '.ame' / 'mlflow.db'}",
                     backend_factory=lambda: backend)

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    async def main():
        app = AmeApp(ctx, start_view="runs")
        async with app.run_test(size=(160, 50)) as pilot:
            while len(app.runs) < 200:
                await pilot.pause(0.1)
            await pilot.pause(3)
            c0, t0 = cpu(), time.monotonic()
            await asyncio.sleep(seconds)
            c1, t1 = cpu(), time.monotonic()
            print(f"{100 * (c1 - c0) / (t1 - t0):.2f} {len(app.runs)}")

    asyncio.run(main())
    """
)


def idle_cpu(tmp: Path, seconds: float) -> None:
    from ame_core.runtime.backend import RunRecord, RunStatus
    from ame_core.runtime.records import RecordStore

    proj = project(tmp / "idle")
    store = RecordStore(proj)
    now = time.time()
    for i in range(200):
        status = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)[i % 3]
        run_id = f"bench-{i:04d}"
        log = store.log_path(run_id)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("done\n")
        store.write(
            RunRecord(
                id=run_id,
                project="quickstart",
                task="train_logreg",
                backend="local",
                status=status,
                created_at=now - 60 * i,
                started_at=now - 60 * i + 1,
                ended_at=now - 60 * i + 30,
                exit_code=0,
                log_path=str(log),
                resources={"cpu": "1", "memory": "1Gi"},
            )
        )
    out = subprocess.run(
        [PY, "-c", IDLE, str(proj), str(seconds)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    if out.returncode != 0:
        print(out.stderr[-2000:])
        raise SystemExit("idle child failed")
    pct, count = out.stdout.split()[-2:]
    print(
        f"idle CPU, runs view with {count} real local run records, over {seconds:.0f} s: "
        f"{float(pct):.2f}% of one core (target ≤ 3%)"
    )


# --- 3 and 4: the log view ----------------------------------------------------------------------


def write_big_log(path: Path, lines: int) -> None:
    chunk = "".join(
        f"2026-01-01 12:00:00 INFO step {i} loss=0.{i % 997:03d} accuracy=0.{i % 89:02d} ok\n"
        for i in range(10000)
    )
    with path.open("w") as out:
        for _ in range(lines // 10000):
            out.write(chunk)


async def log_benchmarks(tmp: Path, rate: int, seconds: float) -> None:
    from tui_data import NOW, FakeBackend, make_context

    from ame_core.runtime.backend import RunStatus
    from ame_tui.app import AmeApp
    from ame_tui.widgets.log_view import LogView

    proj = project(tmp / "logs")
    backend = FakeBackend(tmp / "runlogs")
    big = backend.add_run("train_logreg", RunStatus.SUCCEEDED, NOW - 100, id="big-001")
    write_big_log(Path(big.log_path), 1_000_000)
    size_mb = Path(big.log_path).stat().st_size / 1e6
    live = backend.add_run("train_logreg", RunStatus.RUNNING, NOW - 10, id="live-001")

    app = AmeApp(make_context(proj, backend), start_view="runs")
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(1.0)
        # 3. open time of a 1,000,000-line log: until its last lines are on screen
        t0 = time.perf_counter()
        app.open_run("big-001")
        while True:
            await asyncio.sleep(0.005)
            views = app.screen.query(LogView)
            if views and views.first().line_count == 1_000_000:
                view = views.first()
                if view.store.cached(999_999) is not None:
                    break
        await pilot.pause(0)  # the frame with the tail
        opened = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(["tail", "-n", "50", big.log_path], capture_output=True, check=True)
        tail_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(["wc", "-l", big.log_path], capture_output=True, check=True)
        wc_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(
            ["less", "+G", big.log_path],
            capture_output=True,
            env=dict(os.environ, LESS="-X -E"),
            check=False,
            stdin=subprocess.DEVNULL,
        )
        less_s = time.perf_counter() - t0
        print(
            f"open a 1,000,000-line log ({size_mb:.0f} MB) until its tail is on screen: "
            f"{opened:.3f} s (target ≤ 1 s) | `tail -n 50`: {tail_s:.3f} s | "
            f"`wc -l` (full scan): {wc_s:.3f} s | `less +G` (non-interactive): {less_s:.3f} s"
        )
        # scrolling: jump to the middle, the lines arrive from the reader worker
        t0 = time.perf_counter()
        view.scroll_to(y=500_000, animate=False)
        while view.store.cached(500_010) is None:
            await asyncio.sleep(0.002)
        print(f"jump to line 500,000 and show it: {time.perf_counter() - t0:.3f} s")
        await pilot.press("escape")

        # 4. follow a task printing `rate` lines per second
        app.open_run("live-001")
        await pilot.pause(0.5)
        view = app.screen.query_one(LogView)
        path = Path(live.log_path)
        written = 0
        stop = threading.Event()

        def writer() -> None:
            nonlocal written
            with path.open("a") as out:
                start = time.perf_counter()
                while not stop.is_set():
                    due = int((time.perf_counter() - start) * rate)
                    if due > written:
                        out.write(
                            "".join(f"line {i} of the fast task\n" for i in range(written, due))
                        )
                        out.flush()
                        written = due
                    time.sleep(0.005)

        stalls: list[float] = []
        lags: list[int] = []
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            await asyncio.sleep(0.02)
            stalls.append(time.perf_counter() - t0 - 0.02)
            lags.append(written - view.line_count)
        stop.set()
        thread.join()
        t0 = time.perf_counter()
        while view.line_count < written:
            await asyncio.sleep(0.01)
        catch_up = time.perf_counter() - t0
        shown = (
            f"line {written - 1} of"
            in "".join(s.text for s in view.render_line(view.size.height - 1))
            or view.follow
        )
        p99 = sorted(lags)[int(len(lags) * 0.99)]
        print(
            f"follow a task printing {rate:,} lines/s for {seconds:.0f} s ({written:,} lines): "
            f"behind by ≤ {p99:,} lines (p99; {p99 / rate * 1000:.0f} ms of output), "
            f"caught up {catch_up * 1000:.0f} ms after it stopped, "
            f"longest UI stall {max(stalls) * 1000:.0f} ms, still following: {shown}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter windows")
    parser.add_argument("--only", choices=("start", "models", "idle", "log"), help="one benchmark")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ame-bench-tui-"))
    try:
        if args.only in (None, "start"):
            time_to_first_frame(project(tmp / "ff"), 3 if args.quick else 5)
        if args.only in (None, "models"):
            models_shown(project(tmp / "models"), 3 if args.quick else 5)
        if args.only in (None, "idle"):
            idle_cpu(tmp, 10 if args.quick else 30)
        if args.only in (None, "log"):
            asyncio.run(log_benchmarks(tmp, 10_000, 5 if args.quick else 10))
            asyncio.run(log_benchmarks(tmp / "x", 50_000, 5))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
