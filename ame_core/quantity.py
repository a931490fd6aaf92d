"""Kubernetes resource quantities (``500m``, ``2``, ``10Gi``, ``129e6``) for ``resources:``.

Implements the grammar of Kubernetes ``resource.Quantity``::

    <quantity>        ::= <signedNumber><suffix>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>

Values are exact :class:`decimal.Decimal` numbers (never floats). Pure and import-light:
this module is on the linter's hot path.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal

__all__ = [
    "BINARY_SUFFIXES",
    "DECIMAL_SUFFIXES",
    "KNOWN_RESOURCES",
    "MEMORY_LIKE_RESOURCES",
    "QuantityError",
    "check_resource",
    "describe_quantity",
    "format_bytes",
    "format_quantity",
    "is_extended_resource",
    "parse_quantity",
    "to_canonical",
]

#: Decimal SI suffix -> power of ten.
DECIMAL_SUFFIXES: dict[str, int] = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
#: Binary SI suffix -> power of two.
BINARY_SUFFIXES: dict[str, int] = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}

#: Plain (non-extended) resource names accepted under ``resources:``.
KNOWN_RESOURCES: frozenset[str] = frozenset({"cpu", "memory", "storage", "ephemeral-storage"})
#: Resources measured in bytes.
MEMORY_LIKE_RESOURCES: frozenset[str] = frozenset({"memory", "storage", "ephemeral-storage"})

# Common wrong names that difflib cannot map (too different from the right one).
_NAME_HINTS: dict[str, str] = {
    "gpu": "nvidia.com/gpu",
    "gpus": "nvidia.com/gpu",
    "nvidia": "nvidia.com/gpu",
    "nvidia-gpu": "nvidia.com/gpu",
    "nvidia_gpu": "nvidia.com/gpu",
    "amd": "amd.com/gpu",
    "amd-gpu": "amd.com/gpu",
    "tpu": "google.com/tpu",
    "ram": "memory",
    "mem": "memory",
    "disk": "storage",
    "ephemeral_storage": "ephemeral-storage",
    "ephemeralstorage": "ephemeral-storage",
    "ephemeralStorage": "ephemeral-storage",
    "cores": "cpu",
    "vcpu": "cpu",
    "vcpus": "cpu",
}

_EXAMPLES = "like 500m, 2, 1.5, 10Gi or 129e6"
_NUMBER_RE = re.compile(r"([+-]?)(\d+(?:\.\d*)?|\.\d+)(.*)", re.DOTALL)
_EXPONENT_RE = re.compile(r"[eE]([+-]?\d+)")
# DNS-1123 subdomain prefix / qualified-name part, as Kubernetes validates extended resource names.
_EXTENDED_RE = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
    r"/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
)
_MAX_EXPONENT = 1000  # far beyond any real quantity; keeps Decimal arithmetic cheap
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


class QuantityError(ValueError):
    """A value that is not a valid Kubernetes quantity for its resource."""


def _ctx(digits: int) -> decimal.Context:
    """A context precise enough that arithmetic on ``digits``-digit numbers stays exact."""
    limit = digits + 10 * _MAX_EXPONENT
    return decimal.Context(prec=digits + 40, Emax=limit, Emin=-limit, traps=[])


def _text_of(value: object) -> str:
    """The user's text for ``value`` (a YAML scalar)."""
    return value.strip() if isinstance(value, str) else str(value)


def _suffix_hint(text: str, number: str, suffix: str) -> str:
    """A did-you-mean fragment for an unknown suffix (``GB`` -> ``G`` / ``Gi``)."""
    if suffix == "e":
        return f"; an exponent needs digits, for example '{number}e3' (= {number} × 10^3)"
    core = suffix
    for tail in ("bytes", "Bytes", "byte", "B", "b"):
        if core.endswith(tail) and len(core) > len(tail):
            core = core[: -len(tail)]
            break
    letter = core[:1].upper()
    binary_only = core[1:].lower() == "i"
    if letter in "KMGTPE" and letter and (len(core) == 1 or binary_only):
        dec = "k" if letter == "K" else letter
        power = DECIMAL_SUFFIXES[dec]
        bin_suffix = letter + "i"
        bits = BINARY_SUFFIXES[bin_suffix]
        if binary_only:
            return f"; did you mean '{number}{bin_suffix}' (2^{bits})?"
        return f"; did you mean '{number}{dec}' (10^{power}) or '{number}{bin_suffix}' (2^{bits})?"
    if suffix[:1] in "eE" and suffix[1:].lstrip("+-") == "":
        return f"; an exponent needs digits, for example '{number}e3' (= {number} × 10^3)"
    valid = ", ".join(s for s in DECIMAL_SUFFIXES if s) + ", " + ", ".join(BINARY_SUFFIXES)
    return f"; valid suffixes are {valid}, or an exponent such as e6"


def parse_quantity(value: str | int | float | Decimal) -> Decimal:
    """Parse a Kubernetes quantity exactly; raise :class:`QuantityError` if invalid or negative.

    Accepts strings and YAML numbers (ints, floats via ``Decimal(str(value))``, Decimals).
    Whitespace is refused, around the number too, as Kubernetes' ``ParseQuantity`` refuses it
    (its TestQuantityParse lists ``" 1"`` and ``"1 "`` as invalid): a quoted ``" 1"`` is a typo.
    """
    if isinstance(value, bool) or value is None:
        raise QuantityError(
            f"{value!r} is not a Kubernetes quantity: expected a number with an optional suffix, "
            f"{_EXAMPLES}"
        )
    if isinstance(value, int):
        if value < 0:
            raise QuantityError(f"'{value}' is not a valid quantity: it must not be negative")
        return Decimal(value)
    if isinstance(value, float | Decimal):
        d = Decimal(str(value)) if isinstance(value, float) else value
        if not d.is_finite():
            raise QuantityError(
                f"'{value}' is not a Kubernetes quantity: it must be a finite number, {_EXAMPLES}"
            )
        if d < 0:
            raise QuantityError(f"'{value}' is not a valid quantity: it must not be negative")
        if abs(d.adjusted()) > _MAX_EXPONENT:
            raise QuantityError(f"'{value}' is not a valid quantity: it is out of range")
        return d.copy_abs()  # exact; turns -0 into 0
    if not isinstance(value, str):
        raise QuantityError(
            f"{value!r} is not a Kubernetes quantity: expected a number or a string {_EXAMPLES}"
        )

    text = value.strip()
    if not text:
        raise QuantityError(
            f"'{value}' is not a Kubernetes quantity: the value is empty; "
            f"expected a number with an optional suffix, {_EXAMPLES}"
        )
    if text != value:
        raise QuantityError(
            f"'{value}' is not a Kubernetes quantity: it must not have spaces around it "
            f"(write '{text}')"
        )
    if any(c.isspace() for c in text):
        joined = "".join(text.split())
        raise QuantityError(
            f"'{text}' is not a Kubernetes quantity: it must not contain spaces "
            f"(did you mean '{joined}'?)"
        )
    m = _NUMBER_RE.fullmatch(text)
    if m is None:
        raise QuantityError(
            f"'{text}' is not a Kubernetes quantity: it must be a number with an optional "
            f"suffix, {_EXAMPLES}"
        )
    sign, number, suffix = m.groups()
    mantissa = Decimal(number)
    ctx = _ctx(len(number))
    if suffix in DECIMAL_SUFFIXES:
        result = mantissa.scaleb(DECIMAL_SUFFIXES[suffix], ctx)
    elif suffix in BINARY_SUFFIXES:
        result = ctx.multiply(mantissa, Decimal(1 << BINARY_SUFFIXES[suffix]))
    elif (e := _EXPONENT_RE.fullmatch(suffix)) is not None:
        exponent = int(e.group(1))
        if abs(exponent) > _MAX_EXPONENT:
            raise QuantityError(
                f"'{text}' is not a valid quantity: exponent {exponent} is out of range"
            )
        result = mantissa.scaleb(exponent, ctx)
    elif suffix[:1] in ".0123456789+-":
        raise QuantityError(
            f"'{text}' is not a Kubernetes quantity: it must be a single number with an optional "
            f"suffix, {_EXAMPLES}"
        )
    else:
        raise QuantityError(
            f"'{text}' is not a Kubernetes quantity: unknown suffix '{suffix}'"
            + _suffix_hint(text, sign + number, suffix)
        )
    if sign == "-" and result != 0:
        raise QuantityError(
            f"'{text}' is not a valid quantity: it must not be negative (use 0 or a positive value)"
        )
    if result != 0 and abs(result.adjusted()) > _MAX_EXPONENT:
        raise QuantityError(f"'{text}' is not a valid quantity: it is out of range")
    return result.copy_abs()


def is_extended_resource(name: str) -> bool:
    """True for a domain-qualified (``<domain>/<name>``) resource such as ``nvidia.com/gpu``."""
    return "/" in name


def _check_name(name: str) -> None:
    """Raise :class:`QuantityError` unless ``name`` is a resource name we accept."""
    if not isinstance(name, str):
        raise QuantityError(f"resource name {name!r} must be a string")
    if is_extended_resource(name):
        if _EXTENDED_RE.fullmatch(name) is None:
            raise QuantityError(
                f"'{name}' is not a valid extended resource name: expected '<domain>/<name>' "
                "such as nvidia.com/gpu (lower-case domain, name of letters, digits, '-', '_', '.')"
            )
        return
    if name in KNOWN_RESOURCES:
        return
    known = sorted(KNOWN_RESOURCES)
    suggestion: str | None = None
    if name.lower() in KNOWN_RESOURCES:
        suggestion = name.lower()
    elif name in _NAME_HINTS or name.lower() in _NAME_HINTS:
        suggestion = _NAME_HINTS.get(name, _NAME_HINTS.get(name.lower()))
    else:
        import difflib

        close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
        suggestion = close[0] if close else None
    hint = f"did you mean '{suggestion}'? " if suggestion else ""
    raise QuantityError(
        f"unknown resource '{name}': {hint}expected one of {', '.join(known)}, "
        "or an extended resource '<domain>/<name>' such as nvidia.com/gpu"
    )


def check_resource(name: str, value: str | int | float | Decimal) -> Decimal:
    """Validate ``value`` for resource ``name`` and return it as an exact Decimal.

    ``cpu``, ``memory``, ``storage`` and ``ephemeral-storage`` take any non-negative quantity;
    extended resources (``<domain>/<name>``) take whole numbers only. Unknown plain names raise
    :class:`QuantityError` with a did-you-mean.
    """
    _check_name(name)
    quantity = parse_quantity(value)
    if is_extended_resource(name) and quantity != quantity.to_integral_value():
        text = _text_of(value)
        shown = _plain(quantity)
        got = text if text == shown else f"{text} = {shown}"
        raise QuantityError(
            f"{name} must be a whole number: extended resources cannot be fractional (got {got})"
        )
    return quantity


def _plain(d: Decimal, grouping: bool = False) -> str:
    """``d`` in positional notation without trailing zeros (``1E+3`` -> ``1000``)."""
    spec = ",f" if grouping else "f"
    if d == d.to_integral_value():
        return format(int(d), "," if grouping else "d")
    return format(d.normalize(_ctx(len(d.as_tuple().digits))), spec)


def _short(x: Decimal) -> str:
    """Round to about three significant digits for display (``9.3132`` -> ``9.31``)."""
    places = 2 if x < 10 else 1 if x < 100 else 0
    q = x.quantize(Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_EVEN)
    return _plain(q)


def format_bytes(n: Decimal | int) -> str:
    """A byte count in the nearest binary unit, about three significant digits (``9.31 GiB``)."""
    d = Decimal(n)
    if d < 1024:
        return f"{_plain(d)} B"
    index = 0
    scaled = d
    while scaled >= 1024 and index < len(_BINARY_UNITS) - 1:
        scaled /= 1024
        index += 1
    shown = _short(scaled)
    if shown == "1024" and index < len(_BINARY_UNITS) - 1:
        shown, index = "1", index + 1
    return f"{shown} {_BINARY_UNITS[index]}"


def _is_exact_binary(d: Decimal) -> bool:
    """True if ``format_bytes(d)`` shows ``d`` exactly (no rounding)."""
    if d < 1024:
        return True
    index = 0
    scaled = d
    while scaled >= 1024 and index < len(_BINARY_UNITS) - 1:
        scaled /= 1024
        index += 1
    return Decimal(_short(scaled)) * (Decimal(1024) ** index) == d


def describe_quantity(name: str, value: str | int | float | Decimal) -> str:
    """A one-line explanation for editor hovers; raises :class:`QuantityError` if invalid.

    ``10G = 10,000,000,000 bytes ≈ 9.31 GiB``, ``500m = 0.5 CPU cores (500 millicores)``,
    ``1 nvidia.com/gpu``.
    """
    quantity = check_resource(name, value)
    text = _text_of(value)
    if name in MEMORY_LIKE_RESOURCES:
        unit = "byte" if quantity == 1 else "bytes"
        out = f"{text} = {_plain(quantity, grouping=True)} {unit}"
        if quantity >= 1024:
            sign = "=" if _is_exact_binary(quantity) else "≈"
            out += f" {sign} {format_bytes(quantity)}"
        if isinstance(value, str) and text.endswith("m"):
            number = text[:-1]
            out += f" (note: m means milli, 10^-3; for megabytes write {number}M or {number}Mi)"
        return out
    if name == "cpu":
        cores = _plain(quantity)
        unit = "CPU core" if quantity == 1 else "CPU cores"
        out = f"{text} = {cores} {unit}"
        if quantity != quantity.to_integral_value() or text.endswith("m"):
            out += f" ({_plain(quantity.scaleb(3, _ctx(30)))} millicores)"
        return out
    count = _plain(quantity)
    return f"{count} {name}" if text == count else f"{text} = {count} {name}"


def format_quantity(quantity: Decimal | int) -> str:
    """The canonical Kubernetes decimal-SI form of a non-negative quantity (``0.5`` -> ``500m``).

    Like Kubernetes, values finer than 1n are rounded up to the next nano unit, and the largest
    suffix that keeps an integer mantissa is chosen (``1500`` stays ``1500``, ``2000`` -> ``2k``).
    """
    d = Decimal(quantity)
    if not d.is_finite() or d < 0:
        raise QuantityError(
            f"'{quantity}' is not a valid quantity: it must be a non-negative number"
        )
    if d == 0:
        return "0"
    ctx = _ctx(len(d.as_tuple().digits) + abs(d.adjusted()))
    nanos = int(ctx.multiply(d, Decimal(10) ** 9).to_integral_value(rounding=decimal.ROUND_CEILING))
    suffixes = list(DECIMAL_SUFFIXES.items())  # ascending powers, n .. E
    best = ("n", nanos)
    for suffix, power in suffixes[1:]:
        div = 10 ** (power + 9)
        if nanos % div:
            break
        best = (suffix, nanos // div)
    suffix, mantissa = best
    return f"{mantissa}{suffix}"


def to_canonical(name: str, value: str | int | float | Decimal) -> str:
    """The string to write into a Kubernetes manifest for ``value`` of resource ``name``.

    Validates first (:class:`QuantityError`). Memory-like resources keep the user's text when it
    is a valid string or an int (``10Gi`` stays ``10Gi``); everything else (cpu, extended
    resources, float/Decimal values) gets the canonical decimal-SI form (``0.5`` -> ``500m``).
    """
    quantity = check_resource(name, value)
    if (
        name in MEMORY_LIKE_RESOURCES
        and isinstance(value, str | int)
        and not isinstance(value, bool)
    ):
        return _text_of(value)
    return format_quantity(quantity)
