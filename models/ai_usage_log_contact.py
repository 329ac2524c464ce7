from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import fields, models
from odoo.tools import SQL

from ..tools import summary_plan
from .ai_usage_summed_calls import MEASURE_COLUMNS, MEASURE_SUMS


class AiUsageLogContact(models.Model):
    """The logs of the closed days of each month (UTC), summed by contact,
    company, user and currency: what Usage by Contact reads for whole
    months (models/ai_usage_log_summary_read). By day and with every other
    dimension, contacts would make the daily summary nearly as large as the
    logs; by month, a contact is a dozen rows a year.

    A month's rows hold its days before ``summary_until`` (the current
    month's grow as the daily summary closes its days), made again with
    them (ai.usage.log.daily._summarize). The months are UTC's, and the
    local months of each zone summed (ai.usage.log.local)."""

    _name = "ai.usage.log.contact"
    _inherit = ["ai.usage.summed.measures"]
    _description = "AI Usage by Contact, Monthly"
    _log_access = False

    month = fields.Date(required=True, index=True, help="Its first day.")
    partner_id = fields.Many2one("res.partner", "Contact", ondelete="set null")
    company_id = fields.Many2one("res.company", ondelete="cascade")
    user_id = fields.Many2one("res.users", ondelete="set null")
    currency_id = fields.Many2one("res.currency")
    zone = fields.Char(required=True, default="UTC", help="The time zone of the month.")

    def _summarize(self, start, end, until, zones=None):
        """Replace the rows of the months that the days [start, end) are in
        (UTC's, and the local months around them of the zones summed) with
        the sums of their logs of the days closed before ``until``."""
        if zones is None:
            zones = ["UTC", *self.env["ai.usage.log.local"]._summed_zones()]
        cr = self.env.cr
        for zone in zones:
            # a local day is at most 14 hours from the UTC day of its date
            margin = timedelta(days=0 if zone == "UTC" else 1)
            first = (start - margin).replace(day=1)
            last = (end - timedelta(days=1) + margin).replace(day=1)
            last += relativedelta(months=1)
            cr.execute(
                SQL(
                    "DELETE FROM ai_usage_log_contact"
                    " WHERE zone = %s AND month >= %s AND month < %s",
                    zone,
                    first,
                    last,
                )
            )
            closed = min(last, summary_plan.zone_until(until, zone))
            cr.execute(
                SQL(
                    """
                    INSERT INTO ai_usage_log_contact (
                        zone, month, partner_id, company_id, user_id, currency_id,
                        %s)
                    SELECT %s,
                           date_trunc(
                               'month', timezone(%s, timezone('UTC', request_time))
                           )::date,
                           partner_id, company_id, user_id, currency_id, %s
                      FROM ai_usage_log
                     WHERE request_time >= %s AND request_time < %s
                  GROUP BY 2, 3, 4, 5, 6
                    """,
                    MEASURE_COLUMNS,
                    zone,
                    zone,
                    MEASURE_SUMS,
                    summary_plan.local_start(first, zone),
                    summary_plan.local_start(max(first, closed), zone),
                )
            )
        self.invalidate_model()
