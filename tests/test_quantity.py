"""Tests for ame_core.quantity (Kubernetes quantity syntax)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ame_core.quantity import (
    BINARY_SUFFIXES,
    DECIMAL_SUFFIXES,
    KNOWN_RESOURCES,
    QuantityError,
    check_resource,
    describe_quantity,
    format_bytes,
    format_quantity,
    parse_quantity,
    to_canonical,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1.5", Decimal("1.5")),
        ("10G", Decimal(10_000_000_000)),
        ("10Gi", Decimal(10 * 2**30)),
        ("128974848", Decimal(128974848)),
        ("129e6", Decimal(129_000_000)),
        ("1E3", Decimal(1000)),
        ("1e-3", Decimal("0.001")),
        ("1k", Decimal(1000)),
        ("1Ki", Decimal(1024)),
        ("100n", Decimal("0.0000001")),
        ("5u", Decimal("0.000005")),
        ("1E", Decimal(10**18)),
        ("2Ei", Decimal(2 * 2**60)),
        (".5", Decimal("0.5")),
        ("5.", Decimal(5)),
        ("+3", Decimal(3)),
        ("0", Decimal(0)),
        ("-0", Decimal(0)),
        (
            "123456789012345678901234567890123456789Ki",
            Decimal(123456789012345678901234567890123456789 * 1024),
        ),
    ],
)
def test_parse_valid(text: str, expected: Decimal) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2, Decimal(2)),
        (0, Decimal(0)),
        (128974848, Decimal(128974848)),
        (1.5, Decimal("1.5")),
        (0.1, Decimal("0.1")),  # via str(), not the binary float
        (1e20, Decimal("1e20")),
        (Decimal("0.25"), Decimal("0.25")),
        (-0.0, Decimal(0)),
    ],
)
def test_parse_yaml_numbers(value: int | float | Decimal, expected: Decimal) -> None:
    result = parse_quantity(value)
    assert result == expected
    assert isinstance(result, Decimal)


def test_parse_is_exact_not_float() -> None:
    assert parse_quantity("0.1") + parse_quantity("0.2") == Decimal("0.3")
    assert parse_quantity("1.1Gi") == Decimal("1.1") * 2**30


def test_error_unknown_suffix_gb() -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity("10GB")
    assert str(err.value) == (
        "'10GB' is not a Kubernetes quantity: unknown suffix 'GB'; "
        "did you mean '10G' (10^9) or '10Gi' (2^30)?"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("10mb", "did you mean '10M' (10^6) or '10Mi' (2^20)?"),
        ("10KB", "did you mean '10k' (10^3) or '10Ki' (2^10)?"),
        ("10K", "did you mean '10k' (10^3) or '10Ki' (2^10)?"),
        ("1GiB", "did you mean '1Gi' (2^30)?"),
        ("1gi", "did you mean '1Gi' (2^30)?"),
        ("1e", "exponent needs digits"),
        ("0x10", "valid suffixes are n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei"),
    ],
)
def test_error_suffix_hints(text: str, fragment: str) -> None:
    with pytest.raises(QuantityError, match="unknown suffix") as err:
        parse_quantity(text)
    assert fragment in str(err.value)


def test_error_not_a_number() -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity("four")
    message = str(err.value)
    assert "'four' is not a Kubernetes quantity" in message
    assert "must be a number with an optional suffix" in message
    assert "500m" in message and "10Gi" in message


@pytest.mark.parametrize("value", ["-1", -1, -0.5, "-500m", Decimal("-2")])
def test_error_negative(value: object) -> None:
    with pytest.raises(QuantityError, match="must not be negative"):
        parse_quantity(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("10 Gi", "did you mean '10Gi'"),
        (" 1", "must not have spaces around it (write '1')"),
        ("1Gi ", "must not have spaces around it (write '1Gi')"),
        ("\t2", "spaces around it"),
        ("1 000", "spaces"),
        ("1.2.3", "single number"),
        ("1-2", "single number"),
        (True, "is not a Kubernetes quantity"),
        (False, "is not a Kubernetes quantity"),
        (None, "is not a Kubernetes quantity"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (Decimal("NaN"), "finite"),
        ("NaN", "must be a number"),
        ("Infinity", "must be a number"),
        ([1], "is not a Kubernetes quantity"),
        ("1e1001", "out of range"),
    ],
)
def test_error_other(value: object, fragment: str) -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity(value)  # type: ignore[arg-type]
    assert fragment in str(err.value)


def test_quantity_error_is_value_error() -> None:
    assert issubclass(QuantityError, ValueError)


# --- check_resource ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("cpu", "500m", Decimal("0.5")),
        ("cpu", 2, Decimal(2)),
        ("cpu", 1.5, Decimal("1.5")),
        ("memory", "10Gi", Decimal(10 * 2**30)),
        ("memory", 128974848, Decimal(128974848)),
        ("storage", "10G", Decimal(10**10)),
        ("ephemeral-storage", "1Ti", Decimal(2**40)),
        ("nvidia.com/gpu", 1, Decimal(1)),
        ("nvidia.com/gpu", "2", Decimal(2)),
        ("nvidia.com/gpu", "1000m", Decimal(1)),
        ("nvidia.com/gpu", 0, Decimal(0)),
        ("amd.com/gpu", 1.0, Decimal(1)),
        ("example.com/foo_bar.baz", "3", Decimal(3)),
    ],
)
def test_check_resource_valid(name: str, value: object, expected: Decimal) -> None:
    assert check_resource(name, value) == expected  # type: ignore[arg-type]


def test_check_resource_fractional_gpu() -> None:
    with pytest.raises(QuantityError) as err:
        check_resource("nvidia.com/gpu", 0.5)
    assert str(err.value) == (
        "nvidia.com/gpu must be a whole number: extended resources cannot be fractional (got 0.5)"
    )
    with pytest.raises(QuantityError, match=r"cannot be fractional \(got 1\.5\)"):
        check_resource("nvidia.com/gpu", "1.5")
    with pytest.raises(QuantityError, match=r"\(got 500m = 0\.5\)"):
        check_resource("nvidia.com/gpu", "500m")


def test_check_resource_bad_value_for_known_name() -> None:
    with pytest.raises(QuantityError, match="unknown suffix 'GB'"):
        check_resource("memory", "10GB")
    with pytest.raises(QuantityError, match="must not be negative"):
        check_resource("cpu", "-1")


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("gpu", "nvidia.com/gpu"),
        ("cpus", "cpu"),
        ("CPU", "cpu"),
        ("memroy", "memory"),
        ("mem", "memory"),
        ("ephemeral_storage", "ephemeral-storage"),
        ("storgae", "storage"),
    ],
)
def test_check_resource_unknown_name_suggests(name: str, suggestion: str) -> None:
    with pytest.raises(QuantityError) as err:
        check_resource(name, 1)
    message = str(err.value)
    assert f"unknown resource '{name}'" in message
    assert f"did you mean '{suggestion}'?" in message
    assert "nvidia.com/gpu" in message  # always shows the extended-resource form


def test_check_resource_unknown_name_without_suggestion() -> None:
    with pytest.raises(QuantityError) as err:
        check_resource("bananas", 1)
    message = str(err.value)
    assert "did you mean" not in message
    assert "cpu, ephemeral-storage, memory, storage" in message


@pytest.mark.parametrize("name", ["/gpu", "nvidia.com/", "Nvidia.com/gpu", "a/b/c", "x/-y"])
def test_check_resource_bad_extended_name(name: str) -> None:
    with pytest.raises(QuantityError, match="not a valid extended resource name"):
        check_resource(name, 1)


def test_known_resources_constant() -> None:
    assert frozenset({"cpu", "memory", "storage", "ephemeral-storage"}) == KNOWN_RESOURCES


# --- describe / format -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("memory", "10G", "10G = 10,000,000,000 bytes ≈ 9.31 GiB"),
        ("memory", "10Gi", "10Gi = 10,737,418,240 bytes = 10 GiB"),
        ("memory", "128974848", "128974848 = 128,974,848 bytes = 123 MiB"),
        ("memory", 128974848, "128974848 = 128,974,848 bytes = 123 MiB"),
        ("memory", "129e6", "129e6 = 129,000,000 bytes ≈ 123 MiB"),
        ("memory", "1E3", "1E3 = 1,000 bytes"),
        ("memory", "1", "1 = 1 byte"),
        ("storage", "1.5Gi", "1.5Gi = 1,610,612,736 bytes = 1.5 GiB"),
        ("ephemeral-storage", "1023.999Mi", "1023.999Mi = 1,073,740,775.424 bytes ≈ 1 GiB"),
        ("cpu", "500m", "500m = 0.5 CPU cores (500 millicores)"),
        ("cpu", "2", "2 = 2 CPU cores"),
        ("cpu", 1, "1 = 1 CPU core"),
        ("cpu", 1.5, "1.5 = 1.5 CPU cores (1500 millicores)"),
        ("cpu", "2000m", "2000m = 2 CPU cores (2000 millicores)"),
        ("nvidia.com/gpu", 1, "1 nvidia.com/gpu"),
        ("nvidia.com/gpu", "2", "2 nvidia.com/gpu"),
        ("nvidia.com/gpu", "1e0", "1e0 = 1 nvidia.com/gpu"),
    ],
)
def test_describe_quantity(name: str, value: object, expected: str) -> None:
    assert describe_quantity(name, value) == expected  # type: ignore[arg-type]


def test_describe_memory_milli_warns() -> None:
    text = describe_quantity("memory", "10m")
    assert text.startswith("10m = 0.01 bytes")
    assert "10M or 10Mi" in text


def test_describe_invalid_raises() -> None:
    with pytest.raises(QuantityError):
        describe_quantity("memory", "10GB")
    with pytest.raises(QuantityError):
        describe_quantity("nvidia.com/gpu", 0.5)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (10**10, "9.31 GiB"),
        (128974848, "123 MiB"),
        (Decimal("0.5"), "0.5 B"),
        (2**60, "1 EiB"),
        (2**70, "1024 EiB"),
        (1024**3 - 1, "1 GiB"),
    ],
)
def test_format_bytes(n: int | Decimal, expected: str) -> None:
    assert format_bytes(n) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.5"), "500m"),
        (Decimal("1.5"), "1500m"),
        (Decimal(2), "2"),
        (Decimal(2000), "2k"),
        (Decimal(1500), "1500"),
        (Decimal(129_000_000), "129M"),
        (Decimal(128974848), "128974848"),
        (Decimal("0.000000001"), "1n"),
        (Decimal("0.0000000001"), "1n"),  # rounded up to 1n like Kubernetes
        (Decimal("0.000001"), "1u"),
        (Decimal(10**21), "1000E"),
        (0, "0"),
    ],
)
def test_format_quantity(value: Decimal, expected: str) -> None:
    assert format_quantity(value) == expected


def test_to_canonical() -> None:
    assert to_canonical("cpu", Decimal("0.5")) == "500m"
    assert to_canonical("cpu", 0.5) == "500m"
    assert to_canonical("cpu", "0.5") == "500m"
    assert to_canonical("cpu", 2) == "2"
    assert to_canonical("cpu", "2000m") == "2"
    assert to_canonical("memory", "10Gi") == "10Gi"
    assert to_canonical("memory", "129e6") == "129e6"
    assert to_canonical("memory", 128974848) == "128974848"
    assert to_canonical("memory", 1.5e9) == "1500M"
    assert to_canonical("nvidia.com/gpu", 1.0) == "1"
    assert to_canonical("nvidia.com/gpu", "1e0") == "1"
    with pytest.raises(QuantityError):
        to_canonical("memory", "10GB")


# --- properties --------------------------------------------------------------------------------

# Quantities Kubernetes can represent exactly: up to nano precision.
nano_quantities = st.builds(
    lambda units, scale: Decimal(units).scaleb(-scale),
    st.integers(min_value=0, max_value=10**24),
    st.integers(min_value=0, max_value=9),
)


@given(nano_quantities)
def test_canonical_round_trips(value: Decimal) -> None:
    assert parse_quantity(format_quantity(value)) == value
    assert parse_quantity(to_canonical("cpu", value)) == value
    assert parse_quantity(to_canonical("memory", value)) == value


@given(
    st.integers(min_value=0, max_value=10**6),
    st.one_of(st.none(), st.integers(min_value=0, max_value=9)),
    st.sampled_from(
        [("d", s) for s in DECIMAL_SUFFIXES] + [("b", s) for s in BINARY_SUFFIXES] + [("e", "")]
    ),
    st.integers(min_value=-12, max_value=12),
)
def test_generated_strings_parse_to_their_value(
    whole: int, frac: int | None, kind_suffix: tuple[str, str], exponent: int
) -> None:
    kind, suffix = kind_suffix
    number = str(whole) if frac is None else f"{whole}.{frac}"
    mantissa = Decimal(number)
    if kind == "d":
        text, expected = number + suffix, mantissa.scaleb(DECIMAL_SUFFIXES[suffix])
    elif kind == "b":
        text, expected = number + suffix, mantissa * 2 ** BINARY_SUFFIXES[suffix]
    else:
        text, expected = f"{number}e{exponent}", mantissa.scaleb(exponent)
    assert parse_quantity(text) == expected
    assert parse_quantity(text.upper() if kind == "e" else text) == expected
    # memory keeps the user's text; cpu always round-trips through its canonical form
    assert to_canonical("memory", text) == text
    assert parse_quantity(to_canonical("cpu", text)) >= expected  # may round up below 1n


@given(st.integers(min_value=0, max_value=2**80))
def test_describe_memory_int_mentions_grouped_bytes(n: int) -> None:
    assert describe_quantity("memory", n).startswith(f"{n} = {n:,} byte")


# Kubernetes' TestQuantityParse (k8s.io/apimachinery pkg/api/resource/quantity_test.go): every
# valid input, with the value Kubernetes expects (decQuantity(m, e) = m × 10^e). AME reads each
# exactly; where Kubernetes rounds up to a nano unit or saturates at its int64 limit, the exact
# value is given (marked "exact"), which AME keeps.
K8S_VALID = [
    *[(z, "0") for z in ("0", "0n", "0u", "0m", "0Ki", "0k", "0Mi", "0M", "0Gi", "0G")],
    ("0Ti", "0"),
    ("0T", "0"),
    ("1", "1"),
    ("1Ki", str(1024)),
    ("8Ki", str(8 * 1024)),
    ("7Mi", str(7 * 1024**2)),
    ("6Gi", str(6 * 1024**3)),
    ("5Ti", str(5 * 1024**4)),
    ("4Pi", str(4 * 1024**5)),
    ("3Ei", str(3 * 1024**6)),
    ("10Ti", str(10 * 1024**4)),
    ("100Ti", str(100 * 1024**4)),
    ("5n", "5e-9"),
    ("4u", "4e-6"),
    ("3m", "3e-3"),
    ("9", "9"),
    ("8k", "8e3"),
    ("50k", "5e4"),
    ("7M", "7e6"),
    ("6G", "6e9"),
    ("5T", "5e12"),
    ("40T", "4e13"),
    ("300T", "3e14"),
    ("2P", "2e15"),
    ("1E", "1e18"),
    ("1E-3", "1e-3"),
    ("1e3", "1e3"),
    ("1E6", "1e6"),
    ("1e9", "1e9"),
    ("1E12", "1e12"),
    ("1e15", "1e15"),
    ("1E18", "1e18"),
    ("1e14", "1e14"),
    ("1e13", "1e13"),
    ("100.035k", "100035"),
    ("0.001", "1e-3"),
    ("0.0005k", "5e-1"),
    ("0.005", "5e-3"),
    ("0.05", "5e-2"),
    ("0.5", "5e-1"),
    ("0.00050k", "5e-1"),
    ("0.00500", "5e-3"),
    ("0.05000", "5e-2"),
    ("0.50000", "5e-1"),
    ("0.5e0", "5e-1"),
    ("0.5e-1", "5e-2"),
    ("0.5e-2", "5e-3"),
    ("10.035M", "10035e3"),
    ("1.2e3", "12e2"),
    ("1.3E+6", "13e5"),
    ("1.40e9", "14e8"),
    ("1.53E12", "153e10"),
    ("1.6e15", "16e14"),
    ("1.7E18", "17e17"),
    ("9.01", "901e-2"),
    ("8.1k", "81e2"),
    ("7.123456M", "7123456"),
    ("6.987654321G", "6987654321"),
    ("5.444T", "5444e9"),
    ("40.1T", "401e11"),
    ("300.2T", "3002e11"),
    ("2.5P", "25e14"),
    ("1.01E", "101e16"),
    ("3.001n", "3.001e-9"),  # exact (Kubernetes: 4n)
    ("1.1E-9", "1.1e-9"),  # exact (Kubernetes: 2n)
    ("0.0000000001", "1e-10"),  # exact (Kubernetes: 1n)
    ("0.0000000005", "5e-10"),  # exact (Kubernetes: 1n)
    ("0.00000000050", "5e-10"),  # exact (Kubernetes: 1n)
    ("0.5e-9", "5e-10"),  # exact (Kubernetes: 1n)
    ("0.9n", "9e-10"),  # exact (Kubernetes: 1n)
    ("0.00000012345", "1.2345e-7"),  # exact (Kubernetes: 124n)
    ("0.00000012354", "1.2354e-7"),  # exact (Kubernetes: 124n)
    ("9Ei", str(9 * 2**60)),  # exact (Kubernetes saturates at its int64 limit)
    ("9223372036854775807Ki", str(9223372036854775807 * 1024)),  # exact (ditto)
    ("12E", "12e18"),
    ("100.035Ki", "10243584e-2"),
    ("0.5Mi", str(1024**2 // 2)),
    ("0.05Gi", "536870912e-1"),
    ("0.025Ti", "274877906944e-1"),
    ("0.000000000001Ki", "1.024e-9"),  # exact (Kubernetes: 2n)
    (".001", "1e-3"),
    (".0001k", "100e-3"),
    ("1.", "1"),
    ("1.G", "1e9"),
]
K8S_INVALID = ["1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-"]
K8S_INVALID += [" 1", "1 "]  # "trailing whitespace is forbidden"


@pytest.mark.parametrize(("text", "expected"), K8S_VALID)
def test_kubernetes_valid_quantities_are_read_exactly(text: str, expected: str) -> None:
    assert parse_quantity(text) == Decimal(expected)
    assert parse_quantity("+" + text) == Decimal(expected)  # the table's explicit-`+` pass


@pytest.mark.parametrize("text", K8S_INVALID)
def test_kubernetes_invalid_quantities_are_refused(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)
