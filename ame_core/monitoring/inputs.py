"""The input rows of one scoring request, whatever spelling the client used.

MLflow's scoring server (`/invocations`) takes `dataframe_split`, `dataframe_records`,
`instances`, `inputs` and CSV; MLServer's V2 `/v2/models/<m>/infer` takes named tensors. The
monitor needs one thing from all of them: rows, and the column names when the request gives them.
A body that is none of these is reported as such (a reason), never raised.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

# A body larger than this is not parsed for rows (the request is still logged and served).
MAX_BODY_BYTES = 1 << 20


@dataclass
class Rows:
    columns: list[str] | None  # None: the request gave positions only
    rows: list[list[Any]]


class NotRows(ValueError):
    """The body holds no input rows the monitor can read: the message says why."""


def parse(body: bytes, content_type: str = "") -> Rows:
    if len(body) > MAX_BODY_BYTES:
        raise NotRows(f"body over {MAX_BODY_BYTES >> 20} MiB: not sampled")
    if "csv" in content_type.lower():
        return _csv(body)
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotRows(f"not JSON: {exc}") from None
    return from_json(value)


def from_json(value: Any) -> Rows:
    if isinstance(value, list):
        return _listed(value)
    if not isinstance(value, dict):
        raise NotRows("not an object or a list of rows")
    if "dataframe_split" in value:
        split = value["dataframe_split"]
        if not isinstance(split, dict) or not isinstance(split.get("data"), list):
            raise NotRows("dataframe_split without a `data` list")
        columns = split.get("columns")
        rows = [_row(r) for r in split["data"]]
        return Rows([str(c) for c in columns] if isinstance(columns, list) else None, rows)
    if "dataframe_records" in value:
        return _listed(value["dataframe_records"])
    if "instances" in value:
        return _listed(value["instances"])
    if "inputs" in value:
        inputs = value["inputs"]
        if isinstance(inputs, list) and inputs and _is_v2_tensor(inputs[0]):
            return _v2(inputs)
        if isinstance(inputs, dict):
            return _columnar(inputs)
        return _listed(inputs)
    raise NotRows("no dataframe_split, dataframe_records, instances or inputs")


def _row(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _listed(items: Any) -> Rows:
    if not isinstance(items, list):
        raise NotRows("rows are not a list")
    if items and all(isinstance(item, dict) for item in items):
        columns: list[str] = []
        for item in items:  # the union of the keys, in first-seen order
            columns.extend(str(k) for k in item if str(k) not in columns)
        return Rows(columns, [[item.get(c) for c in columns] for item in items])
    return Rows(None, [_row(item) for item in items])


def _columnar(columns: dict[str, Any]) -> Rows:
    values = [v if isinstance(v, list) else [v] for v in columns.values()]
    length = max((len(v) for v in values), default=0)
    if any(len(v) != length for v in values):
        raise NotRows("columns of different lengths")
    return Rows([str(k) for k in columns], [list(row) for row in zip(*values, strict=True)])


def _is_v2_tensor(item: Any) -> bool:
    return isinstance(item, dict) and "data" in item and ("shape" in item or "datatype" in item)


def _v2(tensors: list[Any]) -> Rows:
    """Named V2 tensors: one column each (MLServer's pandas codec), or one [n, k] tensor."""
    if len(tensors) == 1:
        tensor = tensors[0]
        shape, data = tensor.get("shape") or [], _flat(tensor.get("data"))
        if len(shape) == 2 and shape[1] and int(shape[1]) > 1:
            width = int(shape[1])
            if len(data) % width:
                raise NotRows(f"tensor data does not fill its shape {shape}")
            rows = [data[i : i + width] for i in range(0, len(data), width)]
            return Rows(None, rows)
        return Rows([str(tensor.get("name") or "input-0")], [[v] for v in data])
    columns: dict[str, Any] = {}
    for tensor in tensors:
        if not _is_v2_tensor(tensor):
            raise NotRows("a V2 input without data")
        columns[str(tensor.get("name") or f"input-{len(columns)}")] = _flat(tensor.get("data"))
    return _columnar(columns)


def _flat(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    out: list[Any] = []
    for item in data:
        out.extend(_flat(item) if isinstance(item, list) else [item])
    return out


def _csv(body: bytes) -> Rows:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotRows(f"CSV not UTF-8: {exc}") from None
    table = list(csv.reader(io.StringIO(text)))
    if not table:
        raise NotRows("empty CSV")
    header, *rows = table
    return Rows(header, [[_number(cell) for cell in row] for row in rows])


def _number(cell: str) -> Any:
    try:
        return float(cell) if any(c in cell for c in ".eE") else int(cell)
    except ValueError:
        return cell
