"""Grouped reads of the logs (the pivot, the graphs, the dashboard, the
alerts) answered from the daily summary for the closed days they want
whole, and from the logs for every other moment: the same groups and the
same figures as grouping the logs alone, in a fraction of the time once
there are millions of logs.

A read is served so when everything it names is in the summary: its
groupings (the summary's dimensions, and the request date by day, week,
month, quarter or year), its measures (the count, the sums of tokens and
of the company cost, the error rate) and its conditions (on dimensions,
and bounds of the request time in a conjunction), the record rules
included. Any other read groups the logs, as Odoo does. tools/summary_plan
decides which days are read from the summary."""

import contextlib
import contextvars
from datetime import timedelta

from odoo import fields, models
from odoo.tools import SQL, get_lang
from odoo.tools.query import Query

from ..compat import domain_and, domain_conditions, domain_conjuncts, domain_or
from ..tools import summary_plan
from .ai_usage_log_daily import SUMMARY_DIMENSIONS, fields_of

TIME = "request_time"
SUMMED_TOKENS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "total_tokens",
)
MEASURES = frozenset(
    {"__count", "cost_company:sum", "cost_company:count"}
    | {f"{name}:sum" for name in SUMMED_TOKENS}
)


def rated_error(column):
    """A log's part of the error rate: 100 when it failed, 0 when not, NULL
    for an administrator's test (no production traffic), from its status
    (the stored error rate says the same, but is not read: the summary
    holds statuses)."""
    return SQL(
        "CASE WHEN %s THEN CASE WHEN %s = 'failed' THEN 100.00 ELSE 0.00 END END",
        rated(column),
        column("status"),
    )


def rated(column):
    """Whether a log (or a summary row) counts in the error rate: not an
    administrator's test, nor an attempt that fell back (its chain's last
    attempt is the call)."""
    return SQL(
        "(%s IS DISTINCT FROM 'test_connection' AND %s IS DISTINCT FROM 'fallback')",
        column("request_type"),
        column("status"),
    )


# The measures of a served read's rows: a log's, or a summary row's (which
# sums many). Each is a column, or a function of ``column`` (the SQL of a
# column by its name).
LOG_MEASURES = {
    "calls": lambda column: SQL("1"),
    **{name: name for name in SUMMED_TOKENS},
    "cost_company": "cost_company",
    "priced_calls": lambda column: SQL("(%s IS NOT NULL)::int", column("cost_company")),
}
SUMMARY_MEASURES = {
    "calls": "calls",
    **{
        name: lambda column, name=name: SQL("%s::bigint", column(name))
        for name in SUMMED_TOKENS
    },
    # NULL, as the sum of the logs, when none of them has a cost
    "cost_company": lambda column: SQL(
        "CASE WHEN %s > 0 THEN %s END", column("priced_calls"), column("cost_company")
    ),
    "priced_calls": "priced_calls",
}
ERROR_RATE_MEASURES = (
    {
        "rated": lambda column: SQL("%s::int", rated(column)),
        "rated_errors": rated_error,
    },
    {
        "rated": lambda column: SQL(
            "CASE WHEN %s THEN %s ELSE 0 END", rated(column), column("calls")
        ),
        "rated_errors": lambda column: SQL(
            "CASE WHEN %s THEN (%s * 100)::numeric(20, 2) END",
            rated(column),
            column("failed"),
        ),
    },
)


class Source:
    """A summary a grouped read may be served from: its model, the log
    fields it groups by (``dimensions``), the period of its rows (``day``
    or ``month``, also the name of their column) and whether it holds what
    the error rate needs."""

    def __init__(self, model, dimensions, period, error_rate, zoned=False, utc=True):
        self.model = model
        self.dimensions = frozenset(dimensions)
        self.period = period
        # rows by zone (UTC's, with ``utc``, and the readers' zones)
        self.zoned = zoned
        self.utc = utc
        self.aggregates = MEASURES | ({"error_rate:avg"} if error_rate else set())
        # a row of a period answers the groupings that do not cut it
        self.granularities = (
            summary_plan.DATE_GRANULARITIES
            if period == "day"
            else frozenset({"month", "quarter", "year"})
        )
        dimensions = {name: name for name in sorted(self.dimensions)}
        log_rates, summary_rates = ERROR_RATE_MEASURES if error_rate else ({}, {})
        self.log_row = {TIME: TIME, **dimensions, **LOG_MEASURES, **log_rates}
        self.summary_row = {
            TIME: (
                (lambda column: _local_noon(column, period))
                if zoned
                else (lambda column: SQL("%s::timestamp", column(period)))
            ),
            **dimensions,
            **SUMMARY_MEASURES,
            **summary_rates,
        }


def _local_noon(column, period):
    """The request time standing for a row of a zone: the noon of its
    (first) local day in UTC, grouped by Odoo into that local day (its
    midnight may not exist)."""
    return SQL(
        "timezone('UTC', timezone(%s, %s + interval '12 hours'))",
        column("zone"),
        column(period),
    )


SOURCES = (
    # a reader's local days, for a reader of a zone summed; the currency
    # too: the summaries keep each currency's costs apart
    Source(
        "ai.usage.log.local",
        SUMMARY_DIMENSIONS | {"currency_id"},
        "day",
        True,
        zoned=True,
        utc=False,
    ),
    Source("ai.usage.log.daily", SUMMARY_DIMENSIONS | {"currency_id"}, "day", True),
    Source(
        "ai.usage.log.contact",
        {"partner_id", "company_id", "user_id", "currency_id"},
        "month",
        False,
        zoned=True,
    ),
)


# what a served read may read of a log (the domain, the record rules and
# the rows are on these only): not its texts, wide and of no use here
LOG_COLUMNS = sorted(
    {"id", TIME, "status", "request_type", "error_rate", "cost_company"}
    | set(SUMMED_TOKENS)
    | {name for source in SOURCES for name in source.dimensions}
)


def _rows(table, values):
    """The SQL columns of ``values`` (see LOG_MEASURES), from ``table``."""

    def column(name):
        return SQL.identifier(table, name)

    return [
        SQL(
            "%s AS %s",
            column(value) if isinstance(value, str) else value(column),
            SQL.identifier(name),
        )
        for name, value in values.items()
    ]


# the plan of the grouped read being served, taken by its one _search
_serving = contextvars.ContextVar("ai_usage_log_summary_plan", default=None)
# the moments of the logs a served read reads (SQL), taken by the table of
# its search (and only by it: not by a search a record rule may make inside)
_log_moments = contextvars.ContextVar("ai_usage_log_moments", default=None)


class SummaryPlan:
    """Where a served read takes its rows: the logs of ``domain`` in the
    moments ``log_ranges`` (outside the summary's periods), and the rows of
    ``source`` of ``summary_domain``."""

    def __init__(self, source, domain, log_ranges, summary_domain):
        self.source = source
        self.domain = domain
        self.log_ranges = log_ranges
        self.summary_domain = summary_domain
        self.searched = False


class AiUsageLog(models.Model):
    _inherit = "ai.usage.log"

    def _read_group(
        self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None,
        order=None,
    ):  # fmt: skip
        with self._served_by(self._summary_plan(domain, groupby, aggregates, having)):
            return super()._read_group(
                domain, groupby, aggregates, having, offset, limit, order
            )

    def _read_grouping_sets(self, domain, grouping_sets, aggregates=(), order=None):
        # 19.0's pivot asks for all its headers at once: one query (GROUPING
        # SETS) that passes _read_group by. The plan of all their groupings
        # together serves each of them (each group is a union of their
        # groups); else each header a summary answers is read alone, and
        # the others together, as Odoo reads them.
        grouping_sets = [tuple(groupby) for groupby in grouping_sets]
        if not grouping_sets:
            return super()._read_grouping_sets(domain, grouping_sets, aggregates, order)
        specs = list(
            dict.fromkeys(spec for groupby in grouping_sets for spec in groupby)
        )
        plan = self._summary_plan(domain, specs, aggregates, ())
        if plan is not None:
            with self._served_by(plan):
                return super()._read_grouping_sets(
                    domain, grouping_sets, aggregates, order
                )
        rest = [
            groupby
            for groupby in grouping_sets
            if self._summary_plan(domain, groupby, aggregates, ()) is None
        ]
        others = dict(
            zip(
                rest,
                super()._read_grouping_sets(
                    domain,
                    rest,
                    aggregates,
                    order=_order_within(order, grouping_sets, rest),
                )
                if rest
                else (),
                strict=True,
            )
        )
        return [
            others[groupby]
            if groupby in others
            else self._read_group(
                domain,
                groupby,
                aggregates,
                order=_order_within(order, grouping_sets, [groupby]),
            )
            for groupby in grouping_sets
        ]

    @contextlib.contextmanager
    def _served_by(self, plan):
        """Reads of the logs made in it read ``plan``'s rows (None: the logs)."""
        if plan is not None:
            # a served read is short whatever PostgreSQL estimates for its
            # union: compiling it (JIT, past jit_above_cost) would cost more
            # than running it, about 20 ms a query
            self.env.cr.execute("SET LOCAL jit = off")
        token = _serving.set(plan)
        try:
            yield
        finally:
            _serving.reset(token)
            if plan is not None:
                self.env.cr.execute("RESET jit")

    def _search(self, domain, *args, **kwargs):
        plan = _serving.get()
        if plan is None or plan.searched:
            return super()._search(domain, *args, **kwargs)
        # the served read's own search (Odoo's _read_group makes one): its
        # rows, from the summary and the logs
        plan.searched = True
        token = _log_moments.set([_moments(plan.log_ranges)])
        try:
            logs = super()._search(plan.domain)
        finally:
            _log_moments.reset(token)
        logs = logs.select(*_rows(self._table, plan.source.log_row))
        summaries = self.env[plan.source.model].sudo()
        summary = summaries._search(plan.summary_domain)
        summary = summary.select(*_rows(summaries._table, plan.source.summary_row))
        return Query(self.env, self._table, SQL("(%s UNION ALL %s)", summary, logs))

    @property
    def _table_sql(self):
        moments = _log_moments.get()
        if not moments:
            return super()._table_sql
        moments = moments.pop()
        # The logs of these moments first, then the read's own conditions:
        # the moments are a few days, found by the request time's index; left
        # to it, PostgreSQL may also scan another index whole (the contacts'
        # 4 million entries for partner_id != False). OFFSET 0 keeps it apart.
        columns = SQL(", ").join(SQL.identifier(name) for name in LOG_COLUMNS)
        return SQL(
            "(SELECT %s FROM %s WHERE %s OFFSET 0)",
            columns,
            SQL.identifier(self._table),
            moments,
        )

    def _read_group_select(self, aggregate_spec, query):
        column = SQL.identifier
        name, _sep, function = aggregate_spec.partition(":")
        if name in SUMMED_TOKENS and function == "sum":
            # 0 where no log had usage: the same whether the summary (which
            # adds up zeros) or the logs answer
            total = SQL("COALESCE(SUM(%s), 0)", column(self._table, name))
            return SQL("%s::bigint", total) if _serving.get() else total
        if aggregate_spec == "error_rate:avg":
            if _serving.get():
                return SQL(
                    "SUM(%s) / NULLIF(SUM(%s), 0)",
                    column(self._table, "rated_errors"),
                    column(self._table, "rated"),
                )
            return SQL("AVG(%s)", rated_error(lambda name: column(self._table, name)))
        if _serving.get() and aggregate_spec in ("__count", "cost_company:count"):
            counted = "calls" if aggregate_spec == "__count" else "priced_calls"
            return SQL("SUM(%s)", column(self._table, counted))
        return super()._read_group_select(aggregate_spec, query)

    def _summary_plan(self, domain, groupby, aggregates, having):
        """A SummaryPlan when a summary can answer this read, else None."""
        if self.env.context.get("ai_usage_from_logs"):
            return None
        daily = self.env["ai.usage.log.daily"].sudo()
        until = daily._summary_until()
        first_day = until and _first_summary_day(self.env)
        if not first_day:
            return None
        names, granularities = set(), set()
        for spec in groupby:
            name, _sep, granularity = spec.partition(":")
            if name == TIME:
                granularities.add(granularity)
            elif granularity:
                return None
            names.add(name)
        measures = set(aggregates) | {
            str(condition[0]) for condition in domain_conditions(having)
        }
        rules = [] if self.env.su else self.env["ir.rule"]._compute_domain(self._name)
        conditions = domain_conjuncts(domain)
        if conditions is None:
            # '|' or '!': served only when no condition is on the time
            conditions = domain_conditions(domain)
            if any(field == TIME for field, _op, _value in conditions):
                return None
            times, summary_domain = [], domain
        else:
            times = [(op, value) for field, op, value in conditions if field == TIME]
            summary_domain = [
                condition for condition in conditions if condition[0] != TIME
            ]
        filtered = fields_of(domain_conditions(summary_domain)) | fields_of(
            domain_conditions(rules)
        )
        tz = self.env.context.get("tz") or "UTC"
        zone = tz if tz in self.env["ai.usage.log.local"]._summed_zones() else None
        for source in SOURCES:
            if (
                names - {TIME} <= source.dimensions
                and granularities <= source.granularities
                and measures <= source.aggregates
                and filtered <= source.dimensions
                # the local days serve their readers: their groups by date
                # and their filters (This Month...) start at local midnights
                and (source.utc or zone)
            ):
                break
        else:
            return None
        try:
            days, periods, start_of = self._summary_periods(
                source, times, first_day, until, zone if source.zoned else None,
                tz, granularities,
            )  # fmt: skip
        except summary_plan.Unanswerable:
            return None
        if not days:
            return None
        return SummaryPlan(
            source,
            domain,
            summary_plan.log_ranges(
                days,
                summary_plan.time_bounds(times, fields.Datetime.to_datetime),
                start_of,
            ),
            domain_and(summary_domain, rules, periods),
        )

    def _summary_periods(
        self, source, times, first_day, until, zone, tz, granularities
    ):  # fmt: skip
        """The days read from ``source`` (merged [start, end) ranges), the
        domain of its rows of those days, and the first moment of a day
        (naive UTC) in ``source``'s days: the local days of ``zone`` when
        given, else UTC's."""
        to_datetime = fields.Datetime.to_datetime
        if zone:
            # local days, each in one group of any grouping by date
            until = summary_plan.zone_until(until, zone)
            first, last = summary_plan.whole_days(
                times, to_datetime, first_day - timedelta(days=1), until, zone=zone
            )
            days = [(first, last)] if first < last else []

            def start_of(day):
                return summary_plan.local_start(day, zone)

        else:
            first, last = summary_plan.whole_days(times, to_datetime, first_day, until)
            first_week_day = int(get_lang(self.env).week_start) - 1
            days = summary_plan.aligned_ranges(
                first, last, tz, granularities, first_week_day
            )
            start_of = None
        if source.period == "day":
            periods = domain_or(
                *([("day", ">=", start), ("day", "<", end)] for start, end in days)
            )
        else:
            days, months = summary_plan.whole_months(days, until)
            periods = [("month", "in", months)]
        if source.zoned:
            periods = domain_and([("zone", "=", zone or "UTC")], periods)
        return days, periods, start_of


def _moments(ranges):
    """The SQL condition of the request times in ``ranges``."""
    time = SQL.identifier(TIME)
    conditions = [
        SQL(" AND ").join(
            [SQL("%s >= %s", time, start)] * (start is not None)
            + [SQL("%s < %s", time, end)] * (end is not None)
            or [SQL("TRUE")]
        )
        for start, end in ranges
    ]
    return SQL("(%s)", SQL(" OR ").join(conditions)) if conditions else SQL("FALSE")


def _order_within(order, grouping_sets, kept):
    """The terms of ``order`` that the groupings ``kept`` (of
    ``grouping_sets``) can sort by: not those of a grouping they do not
    have, as Odoo's _read_grouping_sets splits a read in its own way."""
    dropped = {spec for groupby in grouping_sets for spec in groupby}
    dropped -= {spec for groupby in kept for spec in groupby}
    terms = [term.strip() for term in (order or "").split(",")]
    kept_terms = [term for term in terms if term and term.split()[0] not in dropped]
    return ", ".join(kept_terms) or None


def _first_summary_day(env):
    env.cr.execute("SELECT min(day) FROM ai_usage_log_daily")
    return env.cr.fetchone()[0]
