"""Compare runs: in the console (space selects runs in Runs, `=` compares) and from the CLI
(`ame runs compare`), both on the same real MLflow runs (ame_core.compare)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable
from tui_data import NOW, screen_text, tracking_uri, wait_for

from ame_tui.screens.compare import CompareScreen
from ame_tui.screens.runs import RunsView

SIZE = (140, 40)


def accuracy(final: float, step: int) -> float:
    """The demo store's accuracy history (tui_data.fill_mlflow)."""
    return final * (1 - 0.5 * 0.55**step)


def fmt(value: float) -> str:
    return f"{value:.4g}"


def select(app, key: str) -> None:
    table = app.screen.query_one(DataTable)
    table.move_cursor(row=[k.value for k in table.rows].index(key))


async def test_select_runs_and_compare_them_side_by_side(demo) -> None:
    app = demo.app(start_view="runs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView) and app.runs)
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count > 2)
        select(app, "train-001")
        await pilot.press("space")
        await pilot.press("equals_sign")  # one run: nothing to compare yet
        await wait_for(
            pilot,
            lambda: "select two or more runs" in str([n.message for n in app._notifications]),
            what="the hint",
        )
        assert isinstance(app.screen, RunsView) and "✓ train-001" in screen_text(app)
        select(app, "train-003")
        await pilot.press("space")
        await wait_for(pilot, lambda: "2 selected: = compares them" in screen_text(app))
        await pilot.press("equals_sign")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare")
        screen = app.screen
        await wait_for(pilot, lambda: screen.comparison is not None, what="read from MLflow")
        await pilot.pause()
        text = screen_text(app)
        # the same params: hidden, and said so; the metrics that differ side by side
        assert "all 3 params the same (d shows them)" in text
        assert "train-001" in text and "train-003" in text
        last1, last3 = fmt(accuracy(0.912, 11)), fmt(accuracy(0.958, 11))
        line = next(x for x in text.splitlines() if x.strip().startswith("accuracy"))
        assert line.split()[1:] == ["last", last1, last3]
        assert "at step 11" in text and "loss" not in text  # loss is the same in both
        await pilot.press("d")  # every row
        await wait_for(pilot, lambda: "loss" in screen_text(app), what="all rows")
        assert "test_size" in screen_text(app) and "0.25" in screen_text(app)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await wait_for(pilot, lambda: "at step 9" in screen_text(app), what="step 9")
        row = next(x for x in screen_text(app).splitlines() if x.strip().startswith("at step 9"))
        assert row.split()[-2:] == [fmt(accuracy(0.912, 9)), fmt(accuracy(0.958, 9))]
        await pilot.press("d", "g")  # the charts of what differs, drawn over each other
        await wait_for(pilot, lambda: "more than one" in screen_text(app), what="charts")
        charts = screen_text(app)
        assert "• train-001" in charts and "• train-003" in charts
        assert "accuracy  steps 0–11" in charts and "f1  one value each" in charts
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView), what="back")


# --- the CLI -------------------------------------------------------------------------------


@pytest.fixture
def cli_project(demo) -> Path:
    """The demo project with three finished training runs in the local backend's own store,
    each linked to its MLflow run (what `ame task run` leaves)."""
    from ame_core.runtime.backend import RunRecord, RunStatus
    from ame_core.runtime.records import RecordStore

    store = RecordStore(demo.project)
    for i in (1, 2, 3):
        store.write(
            RunRecord(
                id=f"train-00{i}",
                project="quickstart",
                task="train_logreg",
                backend="local",
                status=RunStatus.SUCCEEDED,
                created_at=NOW - 86400 * (4 - i),
                started_at=NOW - 86400 * (4 - i),
                ended_at=NOW - 86400 * (4 - i) + 41,
                exit_code=0,
                mlflow_run_id=demo.runs[f"train-{i}"],
            )
        )
    return demo.project


def ame(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", AME_BACKEND="local")
    return subprocess.run(
        [sys.executable, "-m", "ame_cli", *args, "--project", str(project),
         "--mlflow-uri", tracking_uri(project)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=project,
    )  # fmt: skip


def test_cli_compares_runs_as_text_and_json(cli_project: Path, demo) -> None:
    done = ame(cli_project, "runs", "compare", "train-001", "train-003")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "train-001: MLflow run train_logreg-1 (FINISHED)" in out
    assert "params: all 3 the same (--all shows them)" in out
    line = next(x for x in out.splitlines() if x.startswith("accuracy"))
    assert line.split() == ["accuracy", "last", fmt(accuracy(0.912, 11)), fmt(accuracy(0.958, 11))]
    assert "loss" not in out  # the same in both: hidden
    assert "metrics: 3 differ, 1 the same (--all shows them)" in out

    done = ame(cli_project, "runs", "compare", "train-001", "train-003", "--all", "--step", "5")
    assert done.returncode == 0, done.stderr
    assert "test_size" in done.stdout and "loss" in done.stdout
    row = next(x for x in done.stdout.splitlines() if x.strip().startswith("at step 5"))
    assert row.split()[-2:] == [fmt(accuracy(0.912, 5)), fmt(accuracy(0.958, 5))]

    # JSON: every row, marked; an MLflow run id works as well as an AME run id
    done = ame(cli_project, "runs", "compare", "train-002", demo.runs["train-3"], "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [r["id"] for r in data["runs"]] == ["train-002", demo.runs["train-3"]]
    assert data["runs"][0]["mlflow_run_id"] == demo.runs["train-2"]
    metrics = {m["key"]: m for m in data["metrics"]}
    assert metrics["accuracy"]["differs"] and not metrics["loss"]["differs"]
    assert metrics["accuracy"]["runs"][1]["last"] == pytest.approx(accuracy(0.958, 11))
    assert metrics["accuracy"]["runs"][0]["steps"] == 12
    assert {p["key"]: p["differs"] for p in data["params"]} == {
        "C": False, "seed": False, "test_size": False,
    }  # fmt: skip


def test_cli_compare_says_what_is_wrong_in_one_line(cli_project: Path) -> None:
    done = ame(cli_project, "runs", "compare", "train-001")
    assert done.returncode == 2
    assert done.stderr.strip() == "ame: ame runs compare needs two or more different runs"
    done = ame(cli_project, "runs", "compare", "train-001", "nope")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("ame: no run 'nope'")
    missing = "0" * 32
    done = ame(cli_project, "runs", "compare", "train-001", missing)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert f"no MLflow run {missing}" in done.stderr
    done = ame(cli_project, "runs")  # the listing is still there
    assert done.returncode == 0 and "train-001" in done.stdout
