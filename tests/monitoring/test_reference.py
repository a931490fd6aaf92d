"""The reference as `ame model monitor` reads it: each bad one is one clear line, naming the
file and what is wrong, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ame_core.monitoring import reference as ref

FEATURES = [ref.Feature("a", "numeric"), ref.Feature("b", "categorical")]


def test_a_data_set_or_a_file_of_the_project(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    pd.DataFrame({"b": ["x", "y"], "a": [1.0, 2.0]}).to_csv(
        tmp_path / "data" / "t.csv", index=False
    )
    found = ref.project_reference("train", tmp_path, {"train": "data/t.csv"})
    assert found.source == "data set train (data/t.csv)" and found.rows == 2
    fitted = ref.fit(found.frame, FEATURES, found.source)
    assert list(fitted.columns) == ["a", "b"]  # the signature's order
    assert ref.project_reference("data/t.csv", tmp_path, {}).rows == 2


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(
        ref.ReferenceError, match=r"^monitoring.reference data/none.csv: no such file$"
    ):
        ref.project_reference("data/none.csv", tmp_path, {})


def test_a_file_with_other_columns_names_what_the_signature_needs(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1.0], "c": [2.0]}).to_csv(tmp_path / "r.csv", index=False)
    found = ref.project_reference("r.csv", tmp_path, {})
    with pytest.raises(ref.ReferenceError) as caught:
        ref.fit(found.frame, FEATURES, found.source)
    assert str(caught.value) == "r.csv: has columns a, c but the version's signature needs b"


def test_an_unknown_type_and_an_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("a\n1\n")
    with pytest.raises(ref.ReferenceError, match=r"unknown file type \.txt"):
        ref.project_reference("r.txt", tmp_path, {})
    (tmp_path / "r.parquet").write_text("not parquet")
    with pytest.raises(
        ref.ReferenceError, match=r"^monitoring.reference r.parquet: cannot read it as parquet"
    ):
        ref.project_reference("r.parquet", tmp_path, {})


def test_the_console_keeps_the_few_most_recently_used_baselines() -> None:
    # The console asks every few seconds; a baseline can be megabytes; versions come and go.
    from ame_core.monitoring import service

    service._BASELINES.clear()
    keep = service._BASELINES_KEPT
    for n in range(keep):
        service.remember_baseline(("p", "m", str(n)), ([], None, ""))
    service.remember_baseline(("p", "m", "0"), ([], None, ""))  # used again: now the newest
    service.remember_baseline(("p", "m", "new"), ([], None, ""))
    assert len(service._BASELINES) == keep
    assert ("p", "m", "1") not in service._BASELINES  # the least recently used went
    assert ("p", "m", "0") in service._BASELINES and ("p", "m", "new") in service._BASELINES
    service._BASELINES.clear()
