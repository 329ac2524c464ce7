"""Which part of a grouped read of the logs the daily summary can answer.

A summary row sums the logs of one UTC day. Read in place of those logs, it
gives exactly their figures when the whole day is wanted (the request's time
conditions hold for every moment of it) and falls into one group (no
boundary of a date grouping, in the reader's time zone, cuts the day). Such
days are read from the summary, every other moment from the logs.

Plain Python: the model side (models/ai_usage_log_summary_read.py) turns
these ranges into SQL."""

from datetime import date, datetime, time, timedelta

import pytz

# date groupings whose groups are made of whole local days
DATE_GRANULARITIES = frozenset({"day", "week", "month", "quarter", "year"})
BOUND_OPERATORS = frozenset({"<", "<=", ">", ">="})
ONE_DAY = timedelta(days=1)


class Unanswerable(Exception):
    """The summary cannot answer this read: read the logs."""


def whole_days(conditions, to_datetime, first_day, until, zone=None):
    """The days [first, last) wholly wanted by the time conditions
    ``(operator, value)`` of a conjunction (naive UTC datetimes) that the
    summary holds (from ``first_day``, before ``until``): UTC days, or the
    local days of time zone ``zone``."""
    first, last = first_day, until
    for operator, value in conditions:
        if operator not in BOUND_OPERATORS:
            raise Unanswerable(operator)
        try:
            moment = to_datetime(value)
        except (TypeError, ValueError) as error:
            raise Unanswerable(value) from error
        if not isinstance(moment, datetime):
            raise Unanswerable(value)
        if zone:
            moment = local_time(moment, zone)
        day = moment.date()
        if operator == ">=" and moment == _midnight(day):
            first = max(first, day)
        elif operator in (">", ">="):
            # the day of the bound is wanted only in part
            first = max(first, day + ONE_DAY)
        else:
            # '<' or '<=': whole days end at a midnight not after the bound;
            # the bound's own day is wanted in part (or, at midnight, for
            # that moment only)
            last = min(last, day)
    return first, max(first, last)


def local_bucket(local_day, granularity, first_week_day):
    """The group of a local date in a date grouping (as Odoo's SQL makes
    it; ``first_week_day``: 0 for Monday ... 6 for Sunday)."""
    if granularity == "day":
        return local_day
    if granularity == "week":
        return local_day - timedelta(days=(local_day.weekday() - first_week_day) % 7)
    if granularity == "month":
        return (local_day.year, local_day.month)
    if granularity == "quarter":
        return (local_day.year, (local_day.month - 1) // 3)
    return local_day.year


def aligned_ranges(first, last, tz_name, granularities, first_week_day):
    """The days of [first, last), as merged [start, end) ranges, that fall
    each in one group of every date grouping, in time zone ``tz_name``
    (Odoo groups in UTC when the zone is unknown)."""
    if first >= last:
        return []
    if not granularities or tz_name not in pytz.all_timezones_set:
        return [(first, last)]
    zone = pytz.timezone(tz_name)

    def cut(day):
        begin = pytz.utc.localize(_midnight(day)).astimezone(zone).date()
        final = pytz.utc.localize(_midnight(day + ONE_DAY) - timedelta(microseconds=1))
        final = final.astimezone(zone).date()
        return any(
            local_bucket(begin, granularity, first_week_day)
            != local_bucket(final, granularity, first_week_day)
            for granularity in granularities
        )

    if "day" in granularities:
        candidates = _days(first, last)
    else:
        # a group starts at a local midnight, at most 14 hours from UTC's:
        # only the UTC days around a group's first day can be cut
        candidates = sorted(
            {
                near
                for granularity in granularities
                for start in _group_starts(first, last, granularity, first_week_day)
                for near in (start - ONE_DAY, start, start + ONE_DAY)
                if first <= near < last
            }
        )
    ranges, start = [], first
    for day in candidates:
        if cut(day):
            if start < day:
                ranges.append((start, day))
            start = day + ONE_DAY
    if start < last:
        ranges.append((start, last))
    return ranges


def _days(first, last):
    day = first
    while day < last:
        yield day
        day += ONE_DAY


def _group_starts(first, last, granularity, first_week_day):
    """The first days of the groups of ``granularity`` from around ``first``
    to around ``last``."""
    first, last = first - ONE_DAY, last + ONE_DAY
    if granularity == "week":
        day = first + timedelta(days=(first_week_day - first.weekday()) % 7)
        while day <= last:
            yield day
            day += timedelta(days=7)
        return
    step = {"month": 1, "quarter": 3, "year": 12}[granularity]
    year, month = first.year, 1
    while True:
        day = date(year, month, 1)
        if day > last:
            return
        if day >= first:
            yield day
        month += step
        if month > 12:
            year, month = year + 1, month - 12


def log_ranges(day_ranges, bounds=(None, None), start_of=None):
    """The moments outside the summary days ``day_ranges`` (sorted, merged)
    that the time conditions may want (``bounds``: their lowest and highest
    moments, None when open): [start, end] datetime ranges, None for an open
    end, each end excluded but the highest bound. A superset of the moments
    wanted: the conditions still apply; but as tight as the index on the
    request time can serve. ``start_of``: the first moment of a day (naive
    UTC), UTC midnight unless the days are a zone's."""
    start_of = start_of or _midnight
    low, high = bounds
    ranges, start = [], None
    for first, last in day_ranges:
        ranges.append((start, start_of(first)))
        start = start_of(last)
    ranges.append((start, None))
    clipped = []
    for start, end in ranges:
        if low is not None and (start is None or start < low):
            start = low
        if high is not None and (end is None or end > high):
            # the bound itself may be wanted ('<='): kept, as one more moment
            end = high + timedelta(microseconds=1)
        if start is None or end is None or start < end:
            clipped.append((start, end))
    return clipped


def time_bounds(conditions, to_datetime):
    """The lowest and highest moments (None when open) that the time
    conditions ``(operator, value)`` of a conjunction allow."""
    low = high = None
    for operator, value in conditions:
        moment = to_datetime(value)
        if operator in (">", ">="):
            low = moment if low is None else max(low, moment)
        else:
            high = moment if high is None else min(high, moment)
    return low, high


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min)


def local_time(moment, zone):
    """The local time in ``zone`` of a naive UTC datetime (naive), as
    PostgreSQL's timezone() gives it."""
    zone = pytz.timezone(zone)
    return pytz.utc.localize(moment).astimezone(zone).replace(tzinfo=None)


def local_start(day, zone):
    """The first moment (naive UTC) of the local day ``day`` of ``zone``:
    its midnight, or its first hour when a change of time skips midnight;
    the first of two midnights when it repeats; the next day's start when
    the day is skipped (Samoa's 30 December 2011)."""
    tz = pytz.timezone(zone)
    starts = []
    for is_dst in (True, False):
        moment = tz.localize(_midnight(day), is_dst=is_dst).astimezone(pytz.utc)
        starts.append(moment.replace(tzinfo=None))
    # a skipped midnight gives, one way, an instant of the day before
    starts = [start for start in starts if local_time(start, zone).date() == day]
    return min(starts) if starts else local_start(day + ONE_DAY, zone)


def zone_until(until, zone):
    """The first local day of ``zone`` not wholly before the UTC day
    ``until`` starts: the local days before it are closed."""
    return local_time(_midnight(until), zone).date()


def whole_months(day_ranges, until):
    """The months whose days before ``until`` are all in ``day_ranges``
    (sorted, merged, none after ``until``): their [first day, end) ranges,
    merged, and the months' first days."""
    months = []
    for start, end in day_ranges:
        month = start if start.day == 1 else _next_month(start)
        while month < end:
            covered = min(_next_month(month), until)
            if covered <= end:
                months.append((month, covered))
            month = _next_month(month)
    ranges = []
    for start, end in months:
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges, [start for start, _end in months]


def _next_month(day):
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)
