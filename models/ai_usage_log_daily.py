from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..compat import FALSE_DOMAIN, domain_and, domain_conditions
from .ai_usage_summed_calls import DAY_COLUMNS, MEASURE_COLUMNS, MEASURE_SUMS

SUMMARY_UNTIL_PARAM = "ai_usage_log.summary_until"
SUMMARY_LOCK = 20251119  # advisory lock serializing the summary's maintenance
FINISHED = ("success", "failed")  # the calls that have a real duration
# the log fields the summary groups by: a record rule on them applies to it too
SUMMARY_DIMENSIONS = frozenset(
    {
        "service_id", "company_id", "user_id", "model", "request_type", "status",
        "provider", "price_tier", "source_module", "is_captured",
    }
)  # fmt: skip
DURATION_BUCKETS_MS = (100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000)


BUCKET_COLUMNS = SQL(", ").join(
    SQL.identifier(f"duration_le_{bound}") for bound in DURATION_BUCKETS_MS
)


class AiUsageLogDaily(models.Model):
    """The logs of closed days (UTC), summed by service, company, user,
    model, request type, status, currency, provider, price tier and source
    module (the groupings of the reports: models/ai_usage_log_summary_read).

    Counters, usage figures and metrics read these rows for the days before
    ``summary_until`` and the logs themselves from then on, so they stay
    exact and fast with millions of logs. A day is closed the day after
    next; a change to a log of a closed day recomputes that day at once."""

    _name = "ai.usage.log.daily"
    _inherit = ["ai.usage.summed.calls"]
    _description = "AI Usage Daily Summary"
    _log_access = False

    day = fields.Date(required=True, index=True)
    company_id = fields.Many2one("res.company", ondelete="cascade")
    user_id = fields.Many2one("res.users", ondelete="set null")
    failed = fields.Integer()
    last_request_time = fields.Datetime()
    provider = fields.Char()
    price_tier = fields.Char()
    source_module = fields.Char()
    is_captured = fields.Boolean()

    @api.model
    def _summary_until(self):
        """First day (UTC) that is not in the summary."""
        value = self.env["ir.config_parameter"].sudo().get_param(SUMMARY_UNTIL_PARAM)
        return fields.Date.to_date(value) if value else None

    @api.model
    def _live_since(self):
        """Start (naive UTC datetime) of the logs read directly, not summed."""
        until = self._summary_until()
        return (
            fields.Datetime.to_datetime(until)
            if until
            else fields.Datetime.to_datetime("1970-01-01")
        )

    @api.model
    def _refresh(self):
        """Sum the days closed since the last refresh: every day before
        yesterday (UTC). Run by a scheduled action; cheap when up to date."""
        target = fields.Date.context_today(self.with_context(tz="UTC")) - timedelta(
            days=1
        )
        until = self._summary_until()
        local = self.env["ai.usage.log.local"]
        zones_summed = set(local._summed_zones()) == set(local._wanted_zones())
        if until and until >= target and zones_summed:
            return 0
        self.env.cr.execute("SELECT pg_advisory_xact_lock(%s)", [SUMMARY_LOCK])
        count = 0
        if not until or until < target:
            start = until or fields.Date.to_date("1970-01-01")
            count = self._summarize(start, target)
            self.env["ai.usage.log.total"]._rebuild()
            self.env["ir.config_parameter"].sudo().set_param(
                SUMMARY_UNTIL_PARAM, fields.Date.to_string(target)
            )
            until = target
        # a zone a reader has just taken: its whole history
        local._sync_zones(until)
        return count

    @api.model
    def _resummarize_days(self, days):
        """Recompute the summary of the given days, if they are closed."""
        until = self._summary_until()
        days = sorted({day for day in days if until and day < until})
        if days:
            self.env.cr.execute("SELECT pg_advisory_xact_lock(%s)", [SUMMARY_LOCK])
            for day in days:
                self._summarize(day, day + timedelta(days=1), contacts=False)
            # each month once (it is read whole from the logs), from its
            # first day changed to its last: a zone's local months around
            # them too
            months = {}
            for day in days:
                months.setdefault(day.replace(day=1), []).append(day)
            contacts = self.env["ai.usage.log.contact"]
            for changed in months.values():
                contacts._summarize(changed[0], changed[-1] + timedelta(days=1), until)
            self.env["ai.usage.log.total"]._rebuild()
        return days

    @api.model
    def _summarize(self, start, end, contacts=True):
        """Replace the summary rows of the days in [start, end), of the
        local days they overlap (ai.usage.log.local) and, with ``contacts``,
        of their months by contact."""
        cr = self.env.cr
        cr.execute(
            SQL(
                "DELETE FROM ai_usage_log_daily WHERE day >= %s AND day < %s",
                start,
                end,
            )
        )
        cr.execute(
            SQL(
                """
                INSERT INTO ai_usage_log_daily (
                    day, %s, %s, failed, cost, finished_calls, duration_ms_sum, %s,
                    last_request_time)
                SELECT request_time::date, %s, %s,
                       count(*) FILTER (WHERE status = 'failed'),
                       COALESCE(sum(cost), 0),
                       count(duration_ms) FILTER (WHERE status IN %s),
                       COALESCE(sum(duration_ms) FILTER (WHERE status IN %s), 0),
                       %s, max(request_time)
                  FROM ai_usage_log
                 WHERE request_time >= %s AND request_time < %s
              GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
                """,
                DAY_COLUMNS,
                MEASURE_COLUMNS,
                BUCKET_COLUMNS,
                DAY_COLUMNS,
                MEASURE_SUMS,
                FINISHED,
                FINISHED,
                SQL(", ").join(
                    SQL(
                        "count(*) FILTER (WHERE duration_ms <= %s AND status IN %s)",
                        bound,
                        FINISHED,
                    )
                    for bound in DURATION_BUCKETS_MS
                ),
                fields.Datetime.to_datetime(start),
                fields.Datetime.to_datetime(end),
            )
        )
        count = cr.rowcount
        self.invalidate_model()
        # up to the end of what is closed: these days, or further
        until = max(end, self._summary_until() or end)
        self.env["ai.usage.log.local"]._summarize(start, end, until)
        if contacts:
            self.env["ai.usage.log.contact"]._summarize(start, end, until)
        return count

    @api.model
    def _union(
        self,
        summary_columns,
        log_columns,
        summary_where=None,
        log_where=None,
        summary_model="ai.usage.log.daily",
    ):
        """SQL of the summary rows before summary_until and of the logs since,
        as one row source with the same columns, holding only what the
        current user may read: the record rules of the logs (the add-on's and
        any an integrator added) apply to both parts, through the ORM.

        A rule on a field the summary does not group by (a location, a
        partner...) cannot be applied to summed rows: then every log is read
        directly, exact but slower on huge tables. ``summary_model``: the
        all-time totals (ai.usage.log.total) instead of the days."""
        logs = self.env["ai.usage.log"]
        summary = self.env[summary_model].sudo()
        rules = [] if self.env.su else self.env["ir.rule"]._compute_domain(logs._name)
        # a condition on a field the summary groups by means the same there
        use_summary = fields_of(domain_conditions(rules)) <= (
            SUMMARY_DIMENSIONS & summary._fields.keys()
        )
        since = self._live_since()
        log_query = logs._search([("request_time", ">=", since)] if use_summary else [])
        if log_where:
            log_query.add_where(log_where)
        log_rows = log_query.select(log_columns)
        summary_domain = (rules or []) if use_summary else FALSE_DOMAIN
        if "day" in summary._fields:
            summary_domain = domain_and(summary_domain, [("day", "<", since.date())])
        # no summary row when it cannot be filtered: it still names the columns
        summary_query = summary._search(summary_domain)
        if summary_where:
            summary_query.add_where(summary_where)
        return SQL("(%s UNION ALL %s)", summary_query.select(summary_columns), log_rows)


def fields_of(conditions):
    """The log fields that ``conditions`` are on (a path by its first
    field)."""
    return {
        field.split(".")[0] for field, _operator, _value in conditions
        if isinstance(field, str)
    }  # fmt: skip
