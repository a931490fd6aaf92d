"""Input rows from every request spelling the serving runtimes take, and the request log's
sampling and size cap, written and read back as the proxy and `ame model monitor` do."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ame_core.monitoring import request_log
from ame_core.monitoring.inputs import NotRows, parse
from ame_core.monitoring.prometheus import serving_figures


@pytest.mark.parametrize(
    ("body", "columns", "rows"),
    [
        ({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}}, ["a", "b"], [[1, 2], [3, 4]]),
        ({"dataframe_records": [{"a": 1, "b": 2}, {"b": 4, "a": 3}]}, ["a", "b"], [[1, 2], [3, 4]]),
        ({"instances": [[1, 2], [3, 4]]}, None, [[1, 2], [3, 4]]),
        ({"inputs": {"a": [1, 3], "b": [2, 4]}}, ["a", "b"], [[1, 2], [3, 4]]),
        (
            {"inputs": [{"name": "a", "shape": [2], "datatype": "FP64", "data": [1, 3]},
                        {"name": "b", "shape": [2], "datatype": "FP64", "data": [2, 4]}]},
            ["a", "b"], [[1, 2], [3, 4]],
        ),
        (
            {"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [[1, 2], [3, 4]]}]},
            None, [[1, 2], [3, 4]],
        ),
        ([[1, 2], [3, 4]], None, [[1, 2], [3, 4]]),
    ],
)  # fmt: skip
def test_every_request_spelling_gives_its_rows(body, columns, rows) -> None:
    found = parse(json.dumps(body).encode(), "application/json")
    assert found.columns == columns
    assert found.rows == rows


def test_csv_bodies_and_what_is_not_rows() -> None:
    found = parse(b"a,b\n1,2.5\n3,x\n", "text/csv")
    assert found.columns == ["a", "b"] and found.rows == [[1, 2.5], [3, "x"]]
    with pytest.raises(NotRows, match="not JSON"):
        parse(b"{nope", "application/json")
    with pytest.raises(NotRows, match="no dataframe_split"):
        parse(b'{"something": 1}', "application/json")


def test_the_log_keeps_the_rows_per_minute_and_reads_back_the_window(tmp_path: Path) -> None:
    settings = request_log.Settings(rows_per_minute=7, max_bytes=1 << 20)
    log = request_log.RequestLog(tmp_path / "m", settings)
    body = json.dumps({"instances": [[1, 2], [3, 4], [5, 6]]}).encode()
    for _ in range(5):
        log.add("1", 200, 2.0, body, "application/json")
    log.add("1", 400, 5.0, b"not json", "application/json")
    log.add("2", 500, 9.0, None, "")
    log.flush()
    found = request_log.read(tmp_path, "m", time.time() - 60)
    assert sorted(found) == ["1", "2"]
    one = found["1"]
    assert one.statuses == [200] * 5 + [400]
    assert sum(len(rows) for _, rows in one.samples) == 7  # the minute's budget, no more
    assert found["2"].statuses == [500] and found["2"].latencies_ms == [9.0]
    # Nothing older than the window, and no header or body beyond the rows ever written.
    assert request_log.read(tmp_path, "m", time.time() + 1) == {}
    text = "".join(p.read_text() for p in (tmp_path / "m").rglob("*.jsonl"))
    assert "application/json" not in text


def test_the_log_stays_under_its_cap(tmp_path: Path) -> None:
    settings = request_log.Settings(rows_per_minute=10**6, max_bytes=64 * 1024)
    log = request_log.RequestLog(tmp_path / "m", settings)
    body = json.dumps({"instances": [[float(i)] * 10 for i in range(10)]}).encode()
    chunk = 0
    for _ in range(300):
        log.add("1", 200, 1.0, body, "application/json")
        before = request_log.disk_usage(tmp_path, "m")
        log.flush()
        chunk = max(chunk, request_log.disk_usage(tmp_path, "m") - before)
        time.sleep(0.002)  # segment names are start times in ms
    # At most the cap, plus what one flush writes past a full segment.
    assert request_log.disk_usage(tmp_path, "m") <= settings.max_bytes + chunk
    assert len(list((tmp_path / "m" / "v1").glob("*.jsonl"))) <= request_log.SEGMENTS_PER_VERSION
    newest = request_log.read(tmp_path, "m", 0)["1"]
    assert len(newest.times) < 300 and newest.times[-1] > time.time() - 5  # oldest dropped


def test_settings_from_the_environment() -> None:
    assert not request_log.Settings.from_env({"AME_REQUEST_LOG": "off"}).enabled
    custom = request_log.Settings.from_env(
        {"AME_REQUEST_LOG_ROWS_PER_MINUTE": "50", "AME_REQUEST_LOG_MAX_MB": "8"}
    )
    assert custom.enabled and custom.rows_per_minute == 50 and custom.max_bytes == 8 << 20


def test_mlserver_metrics_give_totals_and_percentiles() -> None:
    text = "\n".join(
        [
            "# HELP model_infer_request_success Model infer request success count",
            'model_infer_request_success_total{model_name="m",model_version=""} 90.0',
            'model_infer_request_failure_total{model_name="m",model_version=""} 10.0',
            'rest_server_requests_duration_seconds_bucket{endpoint="/v2/models/m/infer",le="0.01"} 50.0',
            'rest_server_requests_duration_seconds_bucket{endpoint="/v2/models/m/infer",le="0.1"} 100.0',
            'rest_server_requests_duration_seconds_bucket{endpoint="/v2/models/m/infer",le="+Inf"} 100.0',
        ]
    )
    figures = serving_figures(text)
    assert figures["requests_total"] == 100 and figures["failures_total"] == 10
    assert figures["error_rate"] == pytest.approx(0.1)
    assert figures["latency_ms"]["p50"] == pytest.approx(10.0)  # the first bucket's top
    assert figures["latency_ms"]["p95"] == pytest.approx(10 + 90 * 0.9)
