"""Creating and ending a task's MLflow run without importing mlflow (which takes seconds).

Two paths, each used only where it is known to fit, otherwise the caller uses the MLflow client:
- a tracking server (`http(s)://`): MLflow's documented REST API (`/api/2.0/mlflow/...`);
- an existing sqlite store: the `runs`/`tags` rows exactly as MLflow's SqlAlchemyStore writes
  them, after checking the tables have the expected columns (any other NOT NULL column without a
  default, a missing table or experiment → the MLflow client is used instead).
Every function returns None/False when its path does not apply or fails, never raises.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sqlite3
import time
import uuid
from typing import Any

_RUN_COLUMNS = {
    "run_uuid",
    "name",
    "source_type",
    "source_name",
    "entry_point_name",
    "user_id",
    "status",
    "start_time",
    "end_time",
    "source_version",
    "lifecycle_stage",
    "artifact_uri",
    "experiment_id",
    "deleted_time",
}
_TAG_COLUMNS = {"key", "value", "run_uuid"}


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:
        return "unknown"


# --- sqlite ----------------------------------------------------------------------------------


def _sqlite_path(uri: str) -> str | None:
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :]
    return path if os.path.isfile(path) else None


def _fits(con: sqlite3.Connection, table: str, known: set[str]) -> bool:
    rows = con.execute(f"PRAGMA table_info({table})").fetchall()
    if not rows:
        return False
    names = {r[1] for r in rows}
    if not known <= names:
        return False
    # cid, name, type, notnull, dflt_value, pk: an unknown required column we would not fill
    return all(r[1] in known or not r[3] or r[4] is not None for r in rows)


def _sqlite_create(path: str, project: str, tags: dict[str, str], run_name: str) -> Any:
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        if not (_fits(con, "runs", _RUN_COLUMNS) and _fits(con, "tags", _TAG_COLUMNS)):
            return None
        columns = {r[1] for r in con.execute("PRAGMA table_info(experiments)")}
        where = "name = ? AND lifecycle_stage = 'active'"
        args: tuple[Any, ...] = (project,)
        if "workspace" in columns:
            where += " AND workspace = ?"
            args += ("default",)
        row = con.execute(
            f"SELECT experiment_id, artifact_location FROM experiments WHERE {where}", args
        ).fetchone()
        if row is None or not row[1]:
            return None  # the MLflow client creates the experiment the first time
        experiment_id, location = row
        run_id = uuid.uuid4().hex
        artifact_uri = f"{location.rstrip('/')}/{run_id}/artifacts"
        now = int(time.time() * 1000)
        all_tags = {**tags, "mlflow.runName": run_name, "mlflow.user": _user()}
        con.execute("BEGIN IMMEDIATE")
        con.execute(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
            "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
            "artifact_uri, experiment_id, deleted_time) "
            "VALUES (?, ?, 'UNKNOWN', '', '', ?, 'RUNNING', ?, NULL, '', 'active', ?, ?, NULL)",
            (run_id, run_name, _user(), now, artifact_uri, experiment_id),
        )
        con.executemany(
            "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
            [(k, v, run_id) for k, v in all_tags.items()],
        )
        con.execute("COMMIT")
        return run_id, str(experiment_id)
    finally:
        con.close()


def _sqlite_end(path: str, run_id: str, status: str) -> bool:
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        if not _fits(con, "runs", _RUN_COLUMNS):
            return False
        cur = con.execute(
            "UPDATE runs SET status = ?, end_time = ? WHERE run_uuid = ? "
            "AND lifecycle_stage = 'active'",
            (status, int(time.time() * 1000), run_id),
        )
        return cur.rowcount == 1
    finally:
        con.close()


# --- REST ------------------------------------------------------------------------------------


def _headers() -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if os.environ.get("MLFLOW_TRACKING_TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"
    elif os.environ.get("MLFLOW_TRACKING_USERNAME"):
        pair = f"{os.environ['MLFLOW_TRACKING_USERNAME']}:{os.environ.get('MLFLOW_TRACKING_PASSWORD', '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return headers


def _rest(uri: str, method: str, endpoint: str, body: Any = None, query: str = "") -> Any:
    import urllib.request

    url = f"{uri.rstrip('/')}/api/2.0/mlflow/{endpoint}{query}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=_headers())
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def _rest_create(uri: str, project: str, tags: dict[str, str], run_name: str) -> Any:
    import urllib.error
    import urllib.parse

    try:
        found = _rest(
            uri,
            "GET",
            "experiments/get-by-name",
            query="?" + urllib.parse.urlencode({"experiment_name": project}),
        )
        experiment_id = found["experiment"]["experiment_id"]
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            return None
        experiment_id = _rest(uri, "POST", "experiments/create", {"name": project})["experiment_id"]
    all_tags = {**tags, "mlflow.user": _user()}
    run = _rest(
        uri,
        "POST",
        "runs/create",
        {
            "experiment_id": experiment_id,
            "start_time": int(time.time() * 1000),
            "run_name": run_name,
            "tags": [{"key": k, "value": v} for k, v in all_tags.items()],
        },
    )
    return run["run"]["info"]["run_id"], str(experiment_id)


def _rest_end(uri: str, run_id: str, status: str) -> bool:
    _rest(
        uri,
        "POST",
        "runs/update",
        {"run_id": run_id, "status": status, "end_time": int(time.time() * 1000)},
    )
    return True


# --- entry points ----------------------------------------------------------------------------


def enabled() -> bool:
    return os.environ.get("AME_MLFLOW_FAST", "1") != "0"


def create_run(uri: str, project: str, tags: dict[str, str], run_name: str) -> Any:
    """(run id, experiment id), or None when the caller must use the MLflow client."""
    if not enabled():
        return None
    with contextlib.suppress(Exception):
        if uri.startswith(("http://", "https://")):
            return _rest_create(uri, project, tags, run_name)
        path = _sqlite_path(uri)
        if path:
            return _sqlite_create(path, project, tags, run_name)
    return None


def end_run(uri: str, run_id: str, status: str) -> bool:
    if not enabled():
        return False
    with contextlib.suppress(Exception):
        if uri.startswith(("http://", "https://")):
            return _rest_end(uri, run_id, status)
        path = _sqlite_path(uri)
        if path:
            return _sqlite_end(path, run_id, status)
    return False
