"""Open Inference Protocol (V2) requests built from MLflow's input example and signature.

A column signature becomes one V2 input per column (shape [rows, 1]) with the request parameter
`content_type: pd`, the form MLServer's MLflow runtime decodes into the DataFrame the model was
trained on; a tensor signature becomes one input of the tensor's shape."""

from __future__ import annotations

from typing import Any

# MLflow column types and numpy dtypes → V2 datatypes.
DATATYPES = {
    "double": "FP64",
    "float": "FP32",
    "long": "INT64",
    "integer": "INT32",
    "boolean": "BOOL",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
    "float64": "FP64",
    "float32": "FP32",
    "float16": "FP16",
    "int64": "INT64",
    "int32": "INT32",
    "int16": "INT16",
    "int8": "INT8",
    "uint64": "UINT64",
    "uint32": "UINT32",
    "uint16": "UINT16",
    "uint8": "UINT8",
    "bool": "BOOL",
    "object": "BYTES",
    "str": "BYTES",
}


def _rows(example: dict[str, Any]) -> tuple[list[str] | None, list[list[Any]]]:
    """(columns, rows) of an /invocations body."""
    if "dataframe_split" in example:
        split = example["dataframe_split"] or {}
        return list(split.get("columns") or []) or None, [list(r) for r in split.get("data") or []]
    if "dataframe_records" in example:
        records = example["dataframe_records"] or []
        columns = list(records[0]) if records else []
        return columns, [[rec.get(c) for c in columns] for rec in records]
    for key in ("inputs", "instances"):
        if key in example:
            value = example[key]
            if isinstance(value, dict):  # named columns
                columns = list(value)
                count = len(value[columns[0]]) if columns else 0
                return columns, [[value[c][i] for c in columns] for i in range(count)]
            rows = value if isinstance(value, list) else [value]
            return None, [r if isinstance(r, list) else [r] for r in rows]
    raise ValueError("the example is not an /invocations body (dataframe_split, inputs, …)")


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [x for item in value for x in _flatten(item)]
    return [value]


def _shape(value: Any) -> list[int]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return shape


def request(example: dict[str, Any], signature_inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """A V2 inference request carrying the rows of `example`, typed by the signature."""
    columns, rows = _rows(example)
    first = signature_inputs[0] if signature_inputs else {}
    if first.get("type") == "tensor":
        spec = first.get("tensor-spec") or {}
        dtype = DATATYPES.get(str(spec.get("dtype")), "FP64")
        return {
            "inputs": [
                {
                    "name": first.get("name") or "input-0",
                    "shape": _shape(rows),
                    "datatype": dtype,
                    "data": _flatten(rows),
                }
            ]
        }
    names = [str(s.get("name")) for s in signature_inputs]
    types = {
        str(s.get("name")): DATATYPES.get(str(s.get("type")), "BYTES") for s in signature_inputs
    }
    columns = columns or names
    if any(len(row) != len(columns) for row in rows):
        raise ValueError(f"a row needs {len(columns)} values ({', '.join(columns)})")
    inputs = []
    for index, column in enumerate(columns):
        inputs.append(
            {
                "name": column,
                "shape": [len(rows), 1],
                "datatype": types.get(column, "BYTES"),
                "data": [row[index] for row in rows],
            }
        )
    return {"parameters": {"content_type": "pd"}, "inputs": inputs}


def signature_from_metadata(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """A server's V2 model metadata (`GET /v2/models/{name}`) as signature inputs for
    `request`: the types the server itself expects."""
    back = {v: k for k, v in reversed(list(DATATYPES.items()))}
    found = []
    for item in metadata.get("inputs") or []:
        found.append({"name": item.get("name"), "type": back.get(item.get("datatype"), "string")})
    return found
