"""Five-field cron expressions for ``triggers: {schedule: …}``: parse, explain, next run times.

``minute hour day-of-month month day-of-week`` with ``*``, lists, ranges, steps (``*/15``,
``1-5/2``, ``5/15``), month names (``jan``..``dec``), weekday names (``sun``..``sat``; 0 and 7
are Sunday) and the macros ``@hourly @daily @midnight @weekly @monthly @yearly @annually``.
``?`` is accepted as ``*`` in the two day fields (as Kubernetes CronJob does).

Day matching follows cron (and Kubernetes CronJob): when both day-of-month and day-of-week are
restricted, a day matches if *either* matches; a field counts as unrestricted when it is ``*``
or ``?`` (``*/2`` is a restriction). Pure and import-light; no third-party imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

__all__ = [
    "FIELD_NAMES",
    "MACROS",
    "CronError",
    "CronSchedule",
    "describe_cron",
    "next_runs",
    "parse_cron",
]

#: Field names, in order.
FIELD_NAMES: tuple[str, ...] = ("minute", "hour", "day-of-month", "month", "day-of-week")
#: Macro -> the five-field expression it stands for.
MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_BOUNDS: tuple[tuple[int, int], ...] = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # Feb as in a leap year
_EXPECTED = "expected 5 fields (minute hour day-of-month month day-of-week)"
_ITEM_RE = re.compile(r"(?P<range>\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>[^/]*))?")
_SEARCH_YEARS = 30  # every valid schedule fires at least once in 8 years


class CronError(ValueError):
    """An invalid cron expression.

    ``field_index`` is 0..4 (minute .. day-of-week) or None for whole-expression problems;
    ``start``/``end`` are character offsets of the offending field in the expression text
    (the whole expression for whole-expression problems), for underlining in an editor.
    """

    def __init__(
        self, message: str, *, field_index: int | None = None, start: int = 0, end: int = 0
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_index = field_index
        self.start = start
        self.end = end

    @property
    def field_name(self) -> str | None:
        """The name of the offending field (``"minute"`` …), or None."""
        return None if self.field_index is None else FIELD_NAMES[self.field_index]


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression: the expanded value sets of its five fields.

    ``days_of_week`` uses 0 = Sunday .. 6 = Saturday (7 is folded into 0).
    ``dom_restricted``/``dow_restricted`` say whether the day fields were anything but ``*``/``?``.
    """

    expr: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    dom_restricted: bool
    dow_restricted: bool

    def day_matches(self, year: int, month: int, day: int, weekday: int) -> bool:
        """Whether a calendar day matches (``weekday``: 0 = Sunday), honouring the OR rule."""
        if month not in self.months:
            return False
        dom = day in self.days_of_month
        dow = weekday in self.days_of_week
        if self.dom_restricted and self.dow_restricted:
            return dom or dow
        return dom and dow

    def matches(self, when: datetime) -> bool:
        """Whether the schedule fires at ``when``'s minute (wall-clock time; seconds ignored)."""
        return (
            when.minute in self.minutes
            and when.hour in self.hours
            and self.day_matches(when.year, when.month, when.day, (when.weekday() + 1) % 7)
        )


def _fields(expr: str) -> list[tuple[str, int, int]]:
    """Whitespace-separated tokens with their offsets."""
    return [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", expr)]


def _value(token: str, index: int, field: str, start: int, end: int) -> int:
    """A single value (number or name) of field ``index``, range-checked."""
    name = FIELD_NAMES[index]
    lo, hi = _BOUNDS[index]
    where = f"{name} field '{field}'" if token == field else f"{name} field '{field}': {token}"
    if token.isdigit():
        value = int(token)
        if not lo <= value <= hi:
            valid = "0-7 (0 and 7 are Sunday) or sun-sat" if index == 4 else f"{lo}-{hi}"
            if index == 3:
                valid += " or jan-dec"
            raise CronError(
                f"{where} is out of range {valid}", field_index=index, start=start, end=end
            )
        return value
    low = token.lower()
    if index == 3 and low in _MONTHS:
        return _MONTHS.index(low) + 1
    if index == 4 and low in _DAYS:
        return _DAYS.index(low)
    if low in _MONTHS or low in _DAYS:
        right = "month" if low in _MONTHS else "day-of-week"
        raise CronError(
            f"{where}: the name '{token}' is only valid in the {right} field",
            field_index=index,
            start=start,
            end=end,
        )
    if index == 3:
        valid = "a number 1-12 or a month name jan-dec"
    elif index == 4:
        valid = "a number 0-7 (0 and 7 are Sunday) or a day name sun-sat"
    else:
        valid = f"a number {lo}-{hi}"
    special = ""
    if any(c in token.upper() for c in "LW#") and index in (2, 4):
        special = " (L, W and # are not supported in standard cron)"
    raise CronError(
        f"{where} is not valid: expected {valid}{special}", field_index=index, start=start, end=end
    )


def _wrap_hint(a: str, b: str, index: int) -> str:
    """``a-max,min-b`` for a backwards range ``a-b``, in the user's spelling (names or numbers)."""
    lo, hi = _BOUNDS[index]
    if index == 4:
        hi = 6
    if a.isalpha():
        names = _MONTHS if index == 3 else _DAYS
        lo_s, hi_s = names[0], names[-1]
    else:
        lo_s, hi_s = str(lo), str(hi)
    first = a if a.lower() == hi_s else f"{a}-{hi_s}"
    second = b if b.lower() == lo_s else f"{lo_s}-{b}"
    return f"{first},{second}"


def _parse_field(field: str, index: int, start: int, end: int) -> tuple[frozenset[int], bool]:
    """Expand one field into its value set; also return whether it is a wildcard (``*``/``?``)."""
    name = FIELD_NAMES[index]
    lo, hi = _BOUNDS[index]
    values: set[int] = set()
    star = False

    def fail(message: str) -> CronError:
        return CronError(
            f"{name} field '{field}' {message}", field_index=index, start=start, end=end
        )

    for item in field.split(","):
        if not item:
            raise fail("has an empty list item; separate values with single commas, e.g. 1,15")
        m = _ITEM_RE.fullmatch(item)
        if m is None:
            special = " (L, W and # are not supported in standard cron)" if "#" in item else ""
            raise fail(
                f"is not valid: '{item}' should be *, a value, a range like {lo}-{hi}, "
                f"a list like {lo},{lo + 1} or a step like */2{special}"
            )
        part, step_text = m.group("range"), m.group("step")
        top = 6 if index == 4 else hi  # "*" and "N/step" in day-of-week stop at Saturday
        if part in ("*", "?"):
            if part == "?" and index not in (2, 4):
                raise fail(
                    "is not valid: '?' is only allowed in the day-of-month and day-of-week fields"
                )
            first, last = lo, top
        elif "-" in part:
            a, b = part.split("-")
            first = _value(a, index, field, start, end)
            last = _value(b, index, field, start, end)
            if index == 4 and last == 0 and first > 0:
                last = 7  # "fri-sun": Sunday at the end of a range is day 7
            if first > last:
                raise fail(
                    f"has a backwards range {part}: a range must go from low to high, "
                    f"e.g. {b}-{a}; for one that wraps around use a list such as "
                    f"{_wrap_hint(a, b, index)}"
                )
        else:
            first = _value(part, index, field, start, end)
            last = top if step_text is not None else first  # "5/15" means 5-max/15
        step = 1
        if step_text is not None:
            if not step_text.isdigit() or int(step_text) == 0:
                raise fail(
                    f"has an invalid step '/{step_text}': a step must be a whole number of at least 1"
                )
            step = int(step_text)
        if part in ("*", "?") and step == 1:
            star = True
        values.update(range(first, last + 1, step))
    if index == 4 and 7 in values:
        values.discard(7)
        values.add(0)
    return frozenset(values), star


def parse_cron(expr: str) -> CronSchedule:
    """Parse a five-field cron expression or macro; raise :class:`CronError` if it is invalid."""
    if not isinstance(expr, str):
        raise CronError(
            f"a cron expression must be a string like '0 2 * * *', got {expr!r}", start=0, end=0
        )
    tokens = _fields(expr)
    whole = (tokens[0][1], tokens[-1][2]) if tokens else (0, len(expr))
    if not tokens:
        raise CronError(
            f"the cron expression is empty; {_EXPECTED}, e.g. '0 2 * * *', or a macro like @daily",
            start=whole[0],
            end=whole[1],
        )
    first = tokens[0][0]
    if first.startswith("@"):
        macro = first.lower()
        if macro not in MACROS:
            hint = ""
            if macro == "@reboot":
                hint = "@reboot has no schedule; "
            elif macro == "@every":
                hint = "@every is not supported; "
            else:
                import difflib

                close = difflib.get_close_matches(macro, list(MACROS), n=1)
                hint = f"did you mean {close[0]}? " if close else ""
            raise CronError(
                f"unknown macro '{first}': {hint}use one of {', '.join(MACROS)} "
                "or five fields like '0 2 * * *'",
                start=tokens[0][1],
                end=tokens[0][2],
            )
        if len(tokens) > 1:
            raise CronError(
                f"a macro like {first} stands alone; remove the text after it",
                start=tokens[1][1],
                end=tokens[-1][2],
            )
        return replace(parse_cron(MACROS[macro]), expr=expr)
    if first.upper().startswith(("TZ=", "CRON_TZ=")):
        raise CronError(
            "a time zone prefix is not supported in the schedule; write only the five fields",
            start=tokens[0][1],
            end=tokens[0][2],
        )
    if len(tokens) != 5:
        hint = ""
        if len(tokens) in (6, 7):
            hint = " (seconds and year fields are not supported)"
        raise CronError(f"{_EXPECTED}, got {len(tokens)}{hint}", start=whole[0], end=whole[1])
    sets: list[frozenset[int]] = []
    stars: list[bool] = []
    for index, (field, start, end) in enumerate(tokens):
        values, star = _parse_field(field, index, start, end)
        sets.append(values)
        stars.append(star)
    schedule = CronSchedule(
        expr, sets[0], sets[1], sets[2], sets[3], sets[4], not stars[2], not stars[4]
    )
    if (
        schedule.dom_restricted
        and not schedule.dow_restricted
        and not any(
            d <= _DAYS_IN_MONTH[m - 1] for m in schedule.months for d in schedule.days_of_month
        )
    ):
        field, start, end = tokens[2]
        days = _join([str(d) for d in sorted(schedule.days_of_month)], "or")
        months = _join([_MONTH_NAMES[m - 1] for m in sorted(schedule.months)], "or")
        raise CronError(
            f"day-of-month field '{field}': day {days} never occurs in {months}, "
            "so this schedule never runs",
            field_index=2,
            start=start,
            end=end,
        )
    return schedule


# --- describing --------------------------------------------------------------------------------


def _join(items: list[str], word: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _runs(values: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs in an ordered list of ints: [1,2,3,5] -> [(1,3),(5,5)]."""
    runs: list[tuple[int, int]] = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs


def _ranges(values: list[int], name: Callable[[int], str] = str) -> str:
    """Values in words, ranges of three or more collapsed: ``1 through 5 and 10``."""
    parts: list[str] = []
    for a, b in _runs(values):
        if b - a >= 2:
            parts.append(f"{name(a)} through {name(b)}")
        else:
            parts.extend(name(v) for v in range(a, b + 1))
    return _join(parts)


def _step_of(values: list[int], lo: int, hi: int) -> tuple[int, int] | None:
    """(start, step) if ``values`` are start, start+step, … up to the field maximum."""
    if len(values) < 3:
        return None
    step = values[1] - values[0]
    if step < 2 or values != list(range(values[0], hi + 1, step)) or values[0] >= lo + step:
        return None
    return values[0], step


def _minute_phrase(minutes: list[int]) -> str:
    """Words for the minute field when the hour is not a single time (``every 15 minutes``)."""
    if len(minutes) == 60:
        return "every minute"
    step = _step_of(minutes, 0, 59)
    if step is not None and 60 % step[1] == 0:
        phrase = f"every {step[1]} minutes"
        return phrase if step[0] == 0 else f"{phrase} starting at minute {step[0]}"
    label = "minute" if len(minutes) == 1 else "minutes"
    return f"at {label} {_ranges(minutes)}"


def _time_phrase(s: CronSchedule) -> tuple[str, bool]:
    """Words for minute+hour, and whether they name specific times of day (``at 02:30``)."""
    minutes, hours = sorted(s.minutes), sorted(s.hours)
    if len(hours) < 24 and len(minutes) * len(hours) <= 6:
        times = [f"{h:02d}:{m:02d}" for h in hours for m in minutes]
        return f"at {_join(times)}", True
    if len(hours) == 24:
        step = _step_of(minutes, 0, 59)
        if len(minutes) == 60 or (step is not None and 60 % step[1] == 0):
            return _minute_phrase(minutes), False
        label = "minute" if len(minutes) == 1 else "minutes"
        return f"every hour at {label} {_ranges(minutes)}", False
    hour_step = _step_of(hours, 0, 23)
    if len(minutes) == 1:
        m = minutes[0]
        if hour_step is not None and 24 % hour_step[1] == 0:
            first = f" starting at {hour_step[0]:02d}:{m:02d}" if hour_step[0] else ""
            return f"every {hour_step[1]} hours at minute {m}{first}", False
        runs = _runs(hours)
        if len(runs) == 1:
            return f"every hour from {hours[0]:02d}:{m:02d} through {hours[-1]:02d}:{m:02d}", False
        return f"at minute {m} past hours {_ranges(hours)}", False
    phrase = _minute_phrase(minutes)
    runs = _runs(hours)
    if len(runs) == 1:
        return f"{phrase} from {hours[0]:02d}:00 through {hours[-1]:02d}:59", False
    if hour_step is not None and 24 % hour_step[1] == 0:
        return (
            f"{phrase} during every {_ordinal(hour_step[1])} hour (hours {_ranges(hours)})",
            False,
        )
    return f"{phrase} during hours {_ranges(hours)}", False


def _weekdays(days: set[int] | frozenset[int]) -> str:
    """Weekdays in words, Monday first: ``Monday through Friday``, ``Saturday and Sunday``."""
    order = [d for d in (1, 2, 3, 4, 5, 6, 0) if d in days]
    # map to Monday-first positions so runs wrap over the weekend naturally
    pos = [(d + 6) % 7 for d in order]
    return _ranges(pos, lambda p: _DAY_NAMES[(p + 1) % 7])


def _date_phrase(s: CronSchedule) -> str:
    """Words for the day and month fields; empty when every day matches."""
    doms, months = sorted(s.days_of_month), sorted(s.months)
    all_months = len(months) == 12
    parts: list[str] = []
    dom_words = ""
    if s.dom_restricted:
        if len(doms) == 1 and len(months) == 1 and not s.dow_restricted:
            return f"on {_MONTH_NAMES[months[0] - 1]} {doms[0]}"
        step = _step_of(doms, 1, 31)
        if step is not None and step[0] == 1:
            dom_words = f"on every {_ordinal(step[1])} day of the month (days {_ranges(doms)})"
        else:
            label = "day" if len(doms) == 1 else "days"
            dom_words = f"on {label} {_ranges(doms)} of the month"
    dow_words = ""
    if s.dow_restricted:
        dow_words = "every day" if len(s.days_of_week) == 7 else f"on {_weekdays(s.days_of_week)}"
    if dom_words and dow_words:
        parts.append(f"{dom_words} or {dow_words}")
    elif dom_words or dow_words:
        parts.append(dom_words or dow_words)
    if not all_months:
        parts.append(f"in {_ranges(months, lambda m: _MONTH_NAMES[m - 1])}")
    return " ".join(parts)


def _ordinal(n: int) -> str:
    """``2nd``, ``3rd``, ``11th``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe_cron(expr: str | CronSchedule) -> str:
    """The schedule in plain English (``at 02:30 every day``); raises :class:`CronError`."""
    s = expr if isinstance(expr, CronSchedule) else parse_cron(expr)
    time, specific = _time_phrase(s)
    date = _date_phrase(s)
    if date:
        return f"{time} {date}"
    return f"{time} every day" if specific else time


# --- next run times ----------------------------------------------------------------------------


def _next_in(values: frozenset[int], current: int) -> int | None:
    """The smallest value >= current, or None."""
    candidates = [v for v in values if v >= current]
    return min(candidates) if candidates else None


def _exists(naive: datetime, tz: object) -> bool:
    """False for wall-clock times skipped by a DST change in ``tz``."""
    if tz is None or isinstance(tz, timezone):
        return True
    aware = naive.replace(tzinfo=tz)  # type: ignore[arg-type]
    back = aware.astimezone(UTC).astimezone(tz)  # type: ignore[arg-type]
    return back.replace(tzinfo=None) == naive


def next_runs(expr: str | CronSchedule, start: datetime, count: int = 3) -> list[datetime]:
    """The next ``count`` times strictly after ``start`` at which the schedule fires.

    Works in ``start``'s wall-clock time and keeps its ``tzinfo`` (naive stays naive). Wall times
    skipped by a DST change are skipped; repeated ones fire once (``fold=0``).
    """
    s = expr if isinstance(expr, CronSchedule) else parse_cron(expr)
    tz = start.tzinfo
    first_minute, first_hour = min(s.minutes), min(s.hours)
    limit_year = start.year + _SEARCH_YEARS
    out: list[datetime] = []
    try:
        t = start.replace(tzinfo=None, second=0, microsecond=0, fold=0) + timedelta(minutes=1)
        while len(out) < count and t.year <= limit_year:
            if t.month not in s.months:
                month = _next_in(s.months, t.month + 1)
                year = t.year if month is not None else t.year + 1
                t = datetime(year, month or min(s.months), 1, first_hour, first_minute)
                continue
            if not s.day_matches(t.year, t.month, t.day, (t.weekday() + 1) % 7):
                t = datetime(t.year, t.month, t.day, first_hour, first_minute) + timedelta(days=1)
                continue
            if t.hour not in s.hours:
                hour = _next_in(s.hours, t.hour + 1)
                if hour is None:
                    t = datetime(t.year, t.month, t.day, first_hour, first_minute) + timedelta(
                        days=1
                    )
                else:
                    t = t.replace(hour=hour, minute=first_minute)
                continue
            if t.minute not in s.minutes:
                minute = _next_in(s.minutes, t.minute + 1)
                if minute is None:
                    t = t.replace(minute=first_minute) + timedelta(hours=1)
                else:
                    t = t.replace(minute=minute)
                continue
            if _exists(t, tz):
                out.append(t.replace(tzinfo=tz))
            t += timedelta(minutes=1)
    except (OverflowError, ValueError):  # ran past datetime.max (year 9999)
        pass
    return out
