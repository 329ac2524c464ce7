from collections import Counter
from datetime import timedelta

import pytz

from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..compat import group_members
from ..tools import summary_plan
from .ai_usage_summed_calls import DAY_COLUMNS, MEASURE_COLUMNS, MEASURE_SUMS

SUMMARY_ZONES_PARAM = "ai_usage_log.summary_zones"
# how many zones are summed at most (those of the most readers): each is
# as many rows as the daily summary
MAX_ZONES_PARAM = "ai_usage_log.summary_zones_max"
DEFAULT_MAX_ZONES = 5
ONE_DAY = timedelta(days=1)


class AiUsageLogLocal(models.Model):
    """The logs of the closed days of a time zone, summed by the dimensions
    of the daily summary: what a grouped read by date reads for a user of
    that zone (models/ai_usage_log_summary_read; ai.usage.log.contact has
    its local months). The daily summary's UTC days cannot answer it: a
    local day is parts of two of them.

    The zones summed are those of the report readers (the AI Usage users),
    at most ai_usage_log.summary_zones_max (5) of them, the zones of the
    most readers first; UTC is the daily summary's. The summary's scheduled
    action sums a new zone's whole history and drops the rows of a zone no
    reader has any more, here and by contact. A local day is closed once it ended before
    ``summary_until`` began; its rows are made again with the UTC days it
    overlaps (ai.usage.log.daily._summarize)."""

    _name = "ai.usage.log.local"
    _inherit = ["ai.usage.summed.measures"]
    _description = "AI Usage Daily Summary, Local Days"
    _log_access = False

    zone = fields.Char(required=True)
    day = fields.Date(required=True, help="The local day, in the zone.")
    service_id = fields.Many2one("ai.service", ondelete="cascade")
    company_id = fields.Many2one("res.company", ondelete="cascade")
    user_id = fields.Many2one("res.users", ondelete="set null")
    model = fields.Char()
    request_type = fields.Char()
    status = fields.Char()
    currency_id = fields.Many2one("res.currency")
    provider = fields.Char()
    price_tier = fields.Char()
    source_module = fields.Char()
    is_captured = fields.Boolean()
    failed = fields.Integer()

    def init(self):
        # a read wants the days of one zone
        create_index(
            self.env.cr, "ai_usage_log_local_zone_day_index", self._table,
            ["zone", "day"],
        )  # fmt: skip

    @api.model
    def _summed_zones(self):
        """The zones whose closed days are summed."""
        value = self.env["ir.config_parameter"].sudo().get_param(SUMMARY_ZONES_PARAM)
        return [zone for zone in (value or "").split(",") if zone]

    @api.model
    def _wanted_zones(self):
        """The zones of the report readers, those of the most readers first,
        up to the maximum; not UTC (the daily summary's) nor unknown ones."""
        config = self.env["ir.config_parameter"].sudo()
        value = config.get_param(MAX_ZONES_PARAM, "")
        most = int(value) if value.strip().isdigit() else DEFAULT_MAX_ZONES
        readers = group_members(self.env.ref("ai_usage_log.group_ai_usage_user"))
        zones = Counter(
            user.tz
            for user in readers.sudo()
            if user.active and user.tz in pytz.all_timezones_set and user.tz != "UTC"
        )
        return sorted(zone for zone, _count in zones.most_common(most))

    @api.model
    def _sync_zones(self, until):
        """Sum the closed days (before ``until``) of the zones newly wanted
        and drop those of the zones no longer wanted."""
        summed, wanted = set(self._summed_zones()), set(self._wanted_zones())
        if summed == wanted:
            return
        contacts = self.env["ai.usage.log.contact"]
        gone = sorted(summed - wanted)
        if gone:
            for table in (self._table, contacts._table):
                self.env.cr.execute(
                    SQL(
                        "DELETE FROM %s WHERE zone IN %s",
                        SQL.identifier(table),
                        tuple(gone),
                    )
                )
        new = sorted(wanted - summed)
        self.env.cr.execute("SELECT min(request_time)::date FROM ai_usage_log")
        first = self.env.cr.fetchone()[0]
        if new and first and until:
            self._summarize(first, until, until, new)
            contacts._summarize(first, until, until, new)
        self.env["ir.config_parameter"].sudo().set_param(
            SUMMARY_ZONES_PARAM, ",".join(sorted(wanted))
        )
        self.invalidate_model()

    @api.model
    def _summarize(self, start, end, until, zones=None):
        """Replace the rows of the local days that the UTC days [start, end)
        overlap (the day before and after them too: a zone is at most 14
        hours from UTC), those closed before ``until``."""
        cr = self.env.cr
        for zone in self._summed_zones() if zones is None else zones:
            first = start - ONE_DAY
            last = min(end + ONE_DAY, summary_plan.zone_until(until, zone))
            if first >= last:
                continue
            cr.execute(
                SQL(
                    "DELETE FROM ai_usage_log_local"
                    " WHERE zone = %s AND day >= %s AND day < %s",
                    zone,
                    first,
                    last,
                )
            )
            cr.execute(
                SQL(
                    """
                    INSERT INTO ai_usage_log_local (zone, day, %s, failed, %s)
                    SELECT %s, timezone(%s, timezone('UTC', request_time))::date,
                           %s, count(*) FILTER (WHERE status = 'failed'), %s
                      FROM ai_usage_log
                     WHERE request_time >= %s AND request_time < %s
                  GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
                    """,
                    DAY_COLUMNS,
                    MEASURE_COLUMNS,
                    zone,
                    zone,
                    DAY_COLUMNS,
                    MEASURE_SUMS,
                    summary_plan.local_start(first, zone),
                    summary_plan.local_start(last, zone),
                )
            )
        self.invalidate_model()
