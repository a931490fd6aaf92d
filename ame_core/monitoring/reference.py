"""What drift is measured against: the version's features and the reference data.

Features come from the version's signature (MLmodel `signature.inputs`): a column signature names
them and says numeric or categorical; a tensor signature gives positions `0`, `1`, ….

The reference is, in this order (FORMAT.md, "Monitoring"):
1. `monitoring.reference`: a data set of the project (its `path`) or a file, project-relative;
2. what the version's training run logged under the artifact folder `ame-reference/` (the
   runtime contract gives the training task `AME_REFERENCE_ARTIFACT=ame-reference`):
   `mlflow.log_artifact("data/train.csv", os.environ["AME_REFERENCE_ARTIFACT"])`;
3. the version's input example, with a warning: a handful of rows cannot be trusted.
Files are CSV, Parquet or JSON lines (a folder: every such file in it).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ame_core.errors import one_line

REFERENCE_ARTIFACT = "ame-reference"
SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
SUFFIXES |= {".ndjson": "jsonl", ".json": "jsonl"}
TRUSTED_ROWS = 100  # a reference smaller than this gets a warning
_NUMERIC = {"double", "float", "long", "integer", "int32", "int64", "float32", "float64"}


class ReferenceError(Exception):  # noqa: A001 - our own name; builtins' is unrelated
    """The reference cannot be read or does not fit the signature: one line saying why."""


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # numeric | categorical


@dataclass
class Reference:
    frame: Any  # pandas.DataFrame, columns = the features' names
    source: str  # where it came from, for the report
    warning: str | None = None

    @property
    def rows(self) -> int:
        return len(self.frame)


def features_of(signature_inputs: list[dict[str, Any]] | None) -> list[Feature] | None:
    """The signature's features (None: no signature)."""
    if not signature_inputs:
        return None
    if all(item.get("type") == "tensor" for item in signature_inputs):
        if len(signature_inputs) == 1:
            spec = signature_inputs[0].get("tensor-spec") or {}
            shape = spec.get("shape") or []
            width = int(shape[-1]) if len(shape) == 2 and int(shape[-1]) > 0 else 1
            return [Feature(str(i), "numeric") for i in range(width)]
        return [
            Feature(str(item.get("name") or i), "numeric")
            for i, item in enumerate(signature_inputs)
        ]
    return [
        Feature(
            str(item.get("name") or i),
            "numeric" if str(item.get("type")) in _NUMERIC else "categorical",
        )
        for i, item in enumerate(signature_inputs)
    ]


def read_file(path: Path, label: str | None = None) -> Any:
    """A CSV, Parquet or JSON-lines file (or a folder of them) as a DataFrame."""
    import pandas as pd

    label = label or str(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise ReferenceError(f"{label}: a folder with no CSV, Parquet or JSON-lines file")
        return pd.concat([read_file(p, f"{label}/{p.name}") for p in files], ignore_index=True)
    if not path.is_file():
        raise ReferenceError(f"{label}: no such file")
    return read_bytes(path.read_bytes(), path.suffix, label)


def read_bytes(data: bytes, suffix: str, label: str) -> Any:
    import pandas as pd

    kind = SUFFIXES.get(suffix.lower())
    if kind is None:
        known = ", ".join(sorted(SUFFIXES))
        raise ReferenceError(f"{label}: unknown file type {suffix or '(none)'} (use {known})")
    try:
        if kind == "csv":
            return pd.read_csv(io.BytesIO(data))
        if kind == "parquet":
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_json(io.BytesIO(data), lines=True)
    except Exception as exc:  # noqa: BLE001 - pandas' parsers raise many kinds: one line
        raise ReferenceError(f"{label}: cannot read it as {kind}: {one_line(exc)}") from None


def fit(frame: Any, features: list[Feature], source: str) -> Any:
    """The reference's columns in the features' order: by name, else by position when the
    signature has positions only; a clear error when they do not match."""
    names = [f.name for f in features]
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    missing = [n for n in names if n not in columns]
    if not missing:
        return frame[names]
    positional = all(n.isdigit() for n in names)
    if positional and len(columns) == len(names):
        return frame.set_axis(names, axis=1)
    raise ReferenceError(
        f"{source}: has columns {', '.join(columns[:12])}"
        f"{' …' if len(columns) > 12 else ''} but the version's signature needs "
        f"{', '.join(missing[:12])}{' …' if len(missing) > 12 else ''}"
    )


def from_input_example(example: Any) -> Any:
    """MLflow's saved input example (split orient, records, or a serving body) as a frame."""
    import pandas as pd

    from ame_core.monitoring.inputs import NotRows, from_json

    if isinstance(example, dict) and "columns" in example and "data" in example:
        example = {"dataframe_split": example}
    try:
        rows = from_json(example)
    except NotRows as exc:
        raise ReferenceError(f"the input example: {exc}") from None
    frame = pd.DataFrame(rows.rows)
    if rows.columns is not None:
        frame.columns = rows.columns
    return frame


def project_reference(value: str, project_dir: Path, data_sets: dict[str, str]) -> Reference:
    """`monitoring.reference`: a data set's path, else a file of the project."""
    if value in data_sets:
        path, source = project_dir / data_sets[value], f"data set {value} ({data_sets[value]})"
    else:
        path, source = project_dir / value, value
    frame = read_file(path, f"monitoring.reference {source}")
    return Reference(frame, source)


def logged_reference(files: list[tuple[str, bytes]]) -> Any:
    """What the training run logged under `ame-reference/` ((name, bytes) of each file)."""
    import pandas as pd

    frames = [
        read_bytes(data, Path(name).suffix, f"{REFERENCE_ARTIFACT}/{name}")
        for name, data in files
        if Path(name).suffix.lower() in SUFFIXES
    ]
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def input_example(model_dir: Path) -> Any:
    """The version's saved input example (input_example.json), or None."""
    try:
        example = json.loads((model_dir / "input_example.json").read_text())
    except (OSError, ValueError):
        return None
    return from_input_example(example)
