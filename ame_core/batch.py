"""Batch inference: score a file with a registered model version (its pyfunc flavour).

Formats by file suffix: `.csv`; `.jsonl`/`.ndjson` (JSON lines; `.json` holding JSON lines or one
array of records); `.parquet` when pyarrow is installed. The output holds the input's columns
and the predictions (`prediction`, or one column per output of a multi-output model), written
atomically so a failed run never leaves half a file.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ame_core.atomic_files import atomic_path
from ame_core.errors import one_line

CSV = (".csv",)
JSON_LINES = (".jsonl", ".ndjson", ".json")
PARQUET = (".parquet", ".pq")
FORMATS = "CSV (.csv), JSON lines (.jsonl, .ndjson, .json), Parquet (.parquet)"


class BatchError(Exception):
    """Batch inference cannot go ahead; the message names the file or model and why."""


@dataclass
class BatchResult:
    model: str
    version: str
    input: str
    output: str
    rows: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV + JSON_LINES + PARQUET:
        return suffix
    raise BatchError(f"{path}: unknown file type {suffix or '(none)'}; use {FORMATS}")


def _need_pyarrow(path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise BatchError(f"{path}: Parquet needs pyarrow (pip install pyarrow)") from None


def read_table(path: Path) -> Any:
    import pandas as pd

    suffix = _suffix(path)
    if not path.is_file():
        raise BatchError(f"{path}: no such file")
    try:
        if suffix in CSV:
            return pd.read_csv(path)
        if suffix in PARQUET:
            _need_pyarrow(path)
            return pd.read_parquet(path)
        with open(path, encoding="utf-8") as handle:
            head = handle.read(4096).lstrip()
        if suffix == ".json" and head.startswith("["):
            return pd.read_json(path, orient="records")
        return pd.read_json(path, lines=True)
    except BatchError:
        raise
    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds; the user needs the file and the reason
        raise BatchError(f"{path}: cannot read it as {suffix[1:]}: {one_line(exc)}") from None


def write_table(frame: Any, path: Path) -> None:
    suffix = _suffix(path)
    if suffix in PARQUET:
        _need_pyarrow(path)
    with atomic_path(path) as tmp:
        if suffix in CSV:
            frame.to_csv(tmp, index=False)
        elif suffix in PARQUET:
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_json(tmp, orient="records", lines=True)


def with_predictions(frame: Any, predictions: Any) -> Any:
    """The input with the predictions as extra columns."""
    import numpy as np
    import pandas as pd

    out = frame.copy()
    if isinstance(predictions, pd.DataFrame):
        for column in predictions.columns:
            out[f"prediction_{column}" if column in out.columns else column] = predictions[
                column
            ].to_numpy()
        return out
    if isinstance(predictions, pd.Series):
        predictions = predictions.to_numpy()
    array = np.asarray(predictions)
    if array.ndim == 2 and array.shape[1] > 1:
        for i in range(array.shape[1]):
            out[f"prediction_{i}"] = array[:, i]
    else:
        out["prediction"] = array.reshape(len(out), -1)[:, 0] if array.ndim > 1 else array
    return out


def check_files(input_path: Path, output_path: Path) -> None:
    """Fail on a wrong file before any model is loaded."""
    _suffix(input_path)
    _suffix(output_path)
    if not input_path.is_file():
        raise BatchError(f"{input_path}: no such file")


def predict_file(
    tracking_uri: str, model: str, version: str, input_path: Path, output_path: Path
) -> BatchResult:
    """Load `models:/model/version`, score `input_path`, write `output_path`."""
    start = time.perf_counter()
    check_files(input_path, output_path)
    frame = read_table(input_path)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    import mlflow.pyfunc

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        loaded = mlflow.pyfunc.load_model(f"models:/{model}/{version}")
    except Exception as exc:  # noqa: BLE001 - MLflow's loaders raise any kind: one line
        raise BatchError(f"cannot load {model} v{version}: {one_line(exc)}") from None
    try:
        predictions = loaded.predict(frame)
    except Exception as exc:  # noqa: BLE001 - the model's own code raises any kind: one line
        why = _column_mismatch(loaded, frame) or one_line(exc)
        raise BatchError(f"{model} v{version} cannot score {input_path}: {why}") from None
    write_table(with_predictions(frame, predictions), output_path)
    return BatchResult(
        model=model,
        version=str(version),
        input=str(input_path),
        output=str(output_path),
        rows=len(frame),
        seconds=round(time.perf_counter() - start, 3),
    )


def _column_mismatch(loaded: Any, frame: Any) -> str | None:
    """What is wrong with the input's columns, from the model's signature (MLflow's own
    message is a truncated dump of the data); None when the columns are not the problem."""
    try:
        schema = loaded.metadata.get_input_schema()
        if schema is None or not schema.has_input_names():
            return None
        expected = [str(name) for name in schema.input_names()]
        required = [str(name) for name in schema.required_input_names()]
    except Exception:  # noqa: BLE001 - a model without a usable signature: MLflow's message it is
        return None
    have = [str(column) for column in frame.columns]
    missing = [name for name in required if name not in have]
    if not missing:
        return None
    return (
        f"it has the columns {_names(have)}; the model expects {len(expected)}: "
        f"{_names(expected)} (missing: {_names(missing)})"
    )


def _names(names: list[str], shown: int = 6) -> str:
    text = ", ".join(repr(n) for n in names[:shown])
    return text + (f", … ({len(names) - shown} more)" if len(names) > shown else "")


@dataclass
class BatchPlan:
    """What to score and where to write, from the command line and the model's section."""

    input: Path
    output: Path
    version: str | None
    alias: str | None


def plan(
    project_dir: Path,
    model: Any,
    resolver: Any = None,
    index: Any = None,
    input_path: str | None = None,
    output_path: str | None = None,
    version: str | None = None,
    alias: str | None = None,
) -> BatchPlan:
    """Command-line values win; the rest come from the model's `batchInference` section."""
    section = model.batch_inference
    if input_path is None and section is None:
        raise BatchError(
            f"model {model.name} has no batchInference section: give --input FILE and --output FILE"
        )
    # Paths given on the command line are relative to the working directory; paths in the
    # project file are relative to the project.
    source = Path(input_path).expanduser().absolute() if input_path else None
    if source is None and section is not None:
        named = section.input or _data_set_path(section.data_set, model, resolver, index)
        source = _under(project_dir, named) if named else None
    target = Path(output_path).expanduser().absolute() if output_path else None
    if target is None and section is not None and section.output:
        target = _under(project_dir, section.output)
    if source is None:
        raise BatchError(f"model {model.name}: batchInference needs `input` or `dataSet`")
    if target is None:
        raise BatchError("give --output FILE (the model's batchInference section has no output)")
    if version is None and alias is None and section is not None:
        version = str(section.version) if section.version is not None else None
        alias = section.alias
    return BatchPlan(source, target, version, alias)


def _under(project_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else project_dir / path


def _data_set_path(name: str | None, model: Any, resolver: Any, index: Any) -> str | None:
    if not name:
        return None
    if resolver is None or index is None:
        raise BatchError(f"model {model.name}: cannot look up data set {name!r}")
    from ame_core.resolve import ResolveError, parse_ref

    ref = parse_ref(name)
    try:
        data_set, owner = resolver.find_data_set(ref, index, ())
    except ResolveError as exc:
        raise BatchError(f"model {model.name}: batchInference dataSet: {exc}") from None
    if owner is not index and owner.path:  # another project's data set: relative to its folder
        return str(Path(owner.path).parent / data_set.path)
    return data_set.path
