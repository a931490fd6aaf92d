"""Tests for ame_core.cron (five-field cron: parse, describe, next run times)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ame_core.cron import (
    FIELD_NAMES,
    MACROS,
    CronError,
    CronSchedule,
    describe_cron,
    next_runs,
    parse_cron,
)

# --- parsing -----------------------------------------------------------------------------------


def test_parse_expands_fields() -> None:
    s = parse_cron("*/15 2,14 1-5/2 jan-mar mon-fri")
    assert s.expr == "*/15 2,14 1-5/2 jan-mar mon-fri"
    assert s.minutes == {0, 15, 30, 45}
    assert s.hours == {2, 14}
    assert s.days_of_month == {1, 3, 5}
    assert s.months == {1, 2, 3}
    assert s.days_of_week == {1, 2, 3, 4, 5}
    assert s.dom_restricted and s.dow_restricted


def test_parse_wildcards_and_names() -> None:
    s = parse_cron("* * * * *")
    assert len(s.minutes) == 60 and len(s.hours) == 24
    assert s.days_of_month == frozenset(range(1, 32))
    assert s.months == frozenset(range(1, 13))
    assert s.days_of_week == frozenset(range(7))
    assert not s.dom_restricted and not s.dow_restricted
    assert parse_cron("0 0 * DEC Sun").months == {12}
    assert parse_cron("0 0 * * 7").days_of_week == {0}
    assert parse_cron("0 0 * * 0").days_of_week == {0}
    assert parse_cron("0 0 * * 5-7").days_of_week == {5, 6, 0}
    assert parse_cron("0 0 * * fri-sun").days_of_week == {5, 6, 0}
    assert parse_cron("5/20 * * * *").minutes == {5, 25, 45}
    assert parse_cron("0 0 * * 1/2").days_of_week == {1, 3, 5}  # N/step stops at Saturday
    assert parse_cron("0 0 * * */2").days_of_week == {0, 2, 4, 6}
    assert parse_cron("0 0 ? * mon").dom_restricted is False
    assert parse_cron("0 0 */2 * *").dom_restricted is True  # a step is a restriction
    assert parse_cron("  0   0 * * *  ").hours == {0}


def test_schedule_is_frozen() -> None:
    s = parse_cron("0 0 * * *")
    with pytest.raises(AttributeError):
        s.expr = "x"  # type: ignore[misc]
    assert isinstance(s, CronSchedule)
    assert s == parse_cron("0 0 * * *")
    assert hash(s) == hash(parse_cron("0 0 * * *"))


@pytest.mark.parametrize("macro", list(MACROS))
def test_macros(macro: str) -> None:
    s = parse_cron(macro)
    t = parse_cron(MACROS[macro])
    assert s.expr == macro
    assert (s.minutes, s.hours, s.days_of_month, s.months, s.days_of_week) == (
        t.minutes,
        t.hours,
        t.days_of_month,
        t.months,
        t.days_of_week,
    )
    assert parse_cron(macro.upper()).hours == t.hours


@pytest.mark.parametrize(
    ("expr", "field_index", "bad", "message"),
    [
        ("61 * * * *", 0, "61", "minute field '61' is out of range 0-59"),
        ("0,61 * * * *", 0, "0,61", "minute field '0,61': 61 is out of range 0-59"),
        ("0 24 * * *", 1, "24", "hour field '24' is out of range 0-23"),
        ("0 0 0 * *", 2, "0", "day-of-month field '0' is out of range 1-31"),
        ("0 0 32 * *", 2, "32", "day-of-month field '32' is out of range 1-31"),
        ("0 0 * 13 *", 3, "13", "month field '13' is out of range 1-12 or jan-dec"),
        ("0 0 * * 8", 4, "8", "day-of-week field '8' is out of range 0-7"),
        ("0 0 * foo *", 3, "foo", "month field 'foo' is not valid"),
        ("mon 0 * * *", 0, "mon", "only valid in the day-of-week field"),
        ("0 0 * * jan", 4, "jan", "only valid in the month field"),
        ("*/0 * * * *", 0, "*/0", "a step must be a whole number of at least 1"),
        ("*/x * * * *", 0, "*/x", "invalid step"),
        ("5-1 * * * *", 0, "5-1", "backwards range 5-1"),
        ("0 0 * * sat-mon", 4, "sat-mon", "sat,sun-mon"),
        ("1,,2 * * * *", 0, "1,,2", "empty list item"),
        ("? * * * *", 0, "?", "'?' is only allowed in the day-of-month and day-of-week"),
        ("0 0 L * *", 2, "L", "not supported"),
        ("0 0 * * 5#3", 4, "5#3", "not supported"),
        ("0 0 30 2 *", 2, "30", "never occurs in February"),
        ("0 0 31 4,6 *", 2, "31", "never runs"),
        ("0 0 * * -1", 4, "-1", "is not valid"),
        ("  0 0 * * 8  ", 4, "8", "out of range"),
    ],
)
def test_field_errors(expr: str, field_index: int, bad: str, message: str) -> None:
    with pytest.raises(CronError) as err:
        parse_cron(expr)
    e = err.value
    assert message in str(e)
    assert e.field_index == field_index
    assert e.field_name == FIELD_NAMES[field_index]
    assert expr[e.start : e.end] == bad


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "the cron expression is empty"),
        ("   ", "the cron expression is empty"),
        (
            "* * * * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week), got 6",
        ),
        ("0 0 * *", "got 4"),
        ("@reboot", "@reboot has no schedule"),
        ("@dayly", "did you mean @daily?"),
        ("@every 1h", "@every is not supported"),
        ("TZ=UTC 0 0 * * *", "time zone"),
    ],
)
def test_whole_expression_errors(expr: str, message: str) -> None:
    with pytest.raises(CronError) as err:
        parse_cron(expr)
    assert message in str(err.value)
    assert err.value.field_index is None
    assert 0 <= err.value.start <= err.value.end <= len(expr)


def test_wrong_field_count_underlines_expression() -> None:
    expr = " * * * * * * "
    with pytest.raises(CronError) as err:
        parse_cron(expr)
    assert expr[err.value.start : err.value.end] == "* * * * * *"


def test_macro_with_trailing_text() -> None:
    with pytest.raises(CronError, match="stands alone") as err:
        parse_cron("@daily 0")
    assert (err.value.start, err.value.end) == (7, 8)


def test_cron_error_is_value_error() -> None:
    assert issubclass(CronError, ValueError)
    with pytest.raises(ValueError):
        parse_cron(123)  # type: ignore[arg-type]


# --- describing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("*/15 * * * *", "every 15 minutes"),
        ("30 2 * * *", "at 02:30 every day"),
        ("0 0 * * 1-5", "at 00:00 on Monday through Friday"),
        ("0 6 1 * *", "at 06:00 on day 1 of the month"),
        ("5 * * * *", "every hour at minute 5"),
        ("0 9,17 * * 1", "at 09:00 and 17:00 on Monday"),
        ("* * * * *", "every minute"),
        ("@hourly", "every hour at minute 0"),
        ("@daily", "at 00:00 every day"),
        ("@midnight", "at 00:00 every day"),
        ("@weekly", "at 00:00 on Sunday"),
        ("@monthly", "at 00:00 on day 1 of the month"),
        ("@yearly", "at 00:00 on January 1"),
        ("0 */2 * * *", "every 2 hours at minute 0"),
        ("0 */6 * * *", "at 00:00, 06:00, 12:00 and 18:00 every day"),
        ("0 9-17 * * *", "every hour from 09:00 through 17:00"),
        (
            "*/15 9-17 * * mon-fri",
            "every 15 minutes from 09:00 through 17:59 on Monday through Friday",
        ),
        ("5/15 * * * *", "every 15 minutes starting at minute 5"),
        ("0,30 * * * *", "every hour at minutes 0 and 30"),
        ("0 0 1,15 * *", "at 00:00 on days 1 and 15 of the month"),
        ("0 0 1 * 1", "at 00:00 on day 1 of the month or on Monday"),
        ("0 0 * * 6,0", "at 00:00 on Saturday and Sunday"),
        ("0 0 * * fri-sun", "at 00:00 on Friday through Sunday"),
        ("0 12 * jan,jul *", "at 12:00 in January and July"),
        ("0 0 29 2 *", "at 00:00 on February 29"),
        ("0 0 * * 0-7", "at 00:00 every day"),
    ],
)
def test_describe(expr: str, expected: str) -> None:
    assert describe_cron(expr) == expected


@pytest.mark.parametrize(
    "expr",
    [
        "*/7 * * * *",
        "0 1,3,5,7,9,11,13 * * *",
        "*/20 */3 * * *",
        "0 0 */2 * *",
        "1-5,7 2,4 3-9/2 2,5-7 1,3",
        "59 23 31 12 6",
    ],
)
def test_describe_complex_fallback(expr: str) -> None:
    text = describe_cron(expr)
    assert text and "None" not in text


def test_describe_accepts_schedule_and_raises() -> None:
    assert describe_cron(parse_cron("30 2 * * *")) == "at 02:30 every day"
    with pytest.raises(CronError):
        describe_cron("61 * * * *")


# --- next runs ---------------------------------------------------------------------------------


START = datetime(2024, 2, 28, 23, 59, 30)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("*/15 * * * *", ["2024-02-29T00:00", "2024-02-29T00:15", "2024-02-29T00:30"]),
        ("30 2 * * *", ["2024-02-29T02:30", "2024-03-01T02:30", "2024-03-02T02:30"]),
        ("0 0 * * 1-5", ["2024-02-29T00:00", "2024-03-01T00:00", "2024-03-04T00:00"]),
        ("0 0 29 2 *", ["2024-02-29T00:00", "2028-02-29T00:00", "2032-02-29T00:00"]),
        ("@yearly", ["2025-01-01T00:00", "2026-01-01T00:00", "2027-01-01T00:00"]),
        # both day fields restricted: either one matches (day 1 OR a Monday)
        ("0 0 1 * 1", ["2024-03-01T00:00", "2024-03-04T00:00", "2024-03-11T00:00"]),
        ("0 0 13 * 5", ["2024-03-01T00:00", "2024-03-08T00:00", "2024-03-13T00:00"]),
        # only one restricted: that one alone decides
        ("0 0 13 * *", ["2024-03-13T00:00", "2024-04-13T00:00", "2024-05-13T00:00"]),
        ("0 0 * * 7", ["2024-03-03T00:00", "2024-03-10T00:00", "2024-03-17T00:00"]),
        ("0 0 31 * *", ["2024-03-31T00:00", "2024-05-31T00:00", "2024-07-31T00:00"]),
    ],
)
def test_next_runs(expr: str, expected: list[str]) -> None:
    runs = next_runs(expr, START, 3)
    assert [r.isoformat(timespec="minutes") for r in runs] == expected


def test_next_runs_is_strictly_after_start() -> None:
    start = datetime(2024, 1, 1, 0, 0)
    assert next_runs("0 0 * * *", start, 1) == [datetime(2024, 1, 2)]
    assert next_runs("* * * * *", start, 2) == [
        datetime(2024, 1, 1, 0, 1),
        datetime(2024, 1, 1, 0, 2),
    ]
    assert next_runs("0 0 * * *", start, 0) == []


def test_next_runs_keeps_timezone() -> None:
    start = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert next_runs("30 10 * * *", start, 1) == [datetime(2024, 1, 1, 10, 30, tzinfo=UTC)]


def test_next_runs_skips_dst_gap_and_fires_once_in_overlap() -> None:
    tz = ZoneInfo("Europe/Berlin")
    # 2024-03-31 02:00 -> 03:00: 02:30 does not exist that day
    runs = next_runs("30 2 * * *", datetime(2024, 3, 30, 12, 0, tzinfo=tz), 2)
    assert runs == [datetime(2024, 4, 1, 2, 30, tzinfo=tz), datetime(2024, 4, 2, 2, 30, tzinfo=tz)]
    assert all(r.tzinfo is tz for r in runs)
    # 2024-10-27 03:00 -> 02:00: 02:30 happens twice, the schedule fires once
    runs = next_runs("30 2 * * *", datetime(2024, 10, 26, 12, 0, tzinfo=tz), 3)
    assert [r.date().isoformat() for r in runs] == ["2024-10-27", "2024-10-28", "2024-10-29"]


def test_next_runs_stops_at_datetime_max() -> None:
    assert next_runs("* * * * *", datetime(9999, 12, 31, 23, 58), 5) == [
        datetime(9999, 12, 31, 23, 59)
    ]
    assert next_runs("* * * * *", datetime(9999, 12, 31, 23, 59), 5) == []
    assert next_runs("0 0 1 1 *", datetime(9999, 6, 1), 5) == []


def test_next_runs_accepts_schedule() -> None:
    assert next_runs(parse_cron("@daily"), START, 1) == [datetime(2024, 2, 29)]


# --- properties --------------------------------------------------------------------------------


def _field(lo: int, hi: int) -> st.SearchStrategy[str]:
    value = st.integers(min_value=lo, max_value=hi)
    single = value.map(str)
    # (croniter, used as the oracle below, misreads degenerate ranges like 0-0)
    rng = st.tuples(value, value).map(
        lambda ab: f"{min(ab)}-{max(ab)}" if ab[0] != ab[1] else str(ab[0])
    )
    step = st.integers(min_value=1, max_value=hi - lo + 1)
    stepped = st.one_of(
        step.map(lambda s: f"*/{s}"),
        st.tuples(rng, step).map(lambda rs: f"{rs[0]}/{rs[1]}"),
    )
    item = st.one_of(single, rng, stepped)
    return st.one_of(st.just("*"), item, st.lists(item, min_size=2, max_size=4).map(",".join))


cron_exprs = st.tuples(
    _field(0, 59), _field(0, 23), _field(1, 31), _field(1, 12), _field(0, 6)
).map(" ".join)
starts = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1))


def _parses(expr: str) -> bool:
    try:
        parse_cron(expr)
    except CronError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(cron_exprs, starts)
def test_next_runs_match_schedule(expr: str, start: datetime) -> None:
    if not _parses(expr):  # e.g. day 31 only in 30-day months
        return
    s = parse_cron(expr)
    runs = next_runs(s, start, 5)
    assert len(runs) == 5
    previous = start
    for run in runs:
        assert run > previous
        assert run.second == 0 and run.microsecond == 0
        assert s.matches(run)
        previous = run
    # nothing matching was skipped between consecutive minute-dense runs
    if runs[-1] - start < timedelta(hours=3):
        t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
        expected = []
        while t <= runs[-1]:
            if s.matches(t):
                expected.append(t)
            t += timedelta(minutes=1)
        assert expected == runs
    assert describe_cron(s)


@settings(max_examples=300, deadline=None)
@given(cron_exprs, starts)
def test_next_runs_agree_with_croniter(expr: str, start: datetime) -> None:
    if not _parses(expr):
        return
    s = parse_cron(expr)
    dom, dow = expr.split()[2], expr.split()[4]
    if (
        "*/1" in f"{dom},{dow}"
        or (s.dom_restricted and len(s.days_of_month) == 31)
        or (s.dow_restricted and len(s.days_of_week) == 7)
    ):
        # Kubernetes (robfig/cron) treats "*/1" as "*" and "1-31" as a restriction; croniter
        # does the opposite, which changes the day-of-month/day-of-week OR rule
        return
    from croniter import croniter

    it = croniter(expr, start)
    expected = [it.get_next(datetime) for _ in range(4)]
    assert next_runs(expr, start, 4) == expected
