from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import fields, models
from odoo.tools import SQL


class AiUsageLogContact(models.Model):
    """The logs of the closed days of each month (UTC), summed by contact,
    company, user and currency: what Usage by Contact reads for whole
    months (models/ai_usage_log_summary_read). By day and with every other
    dimension, contacts would make the daily summary nearly as large as the
    logs; by month, a contact is a dozen rows a year.

    A month's rows hold its days before ``summary_until`` (the current
    month's grow as the daily summary closes its days), made again with
    them (ai.usage.log.daily._summarize)."""

    _name = "ai.usage.log.contact"
    _description = "AI Usage by Contact, Monthly"
    _log_access = False

    month = fields.Date(required=True, index=True, help="Its first day.")
    partner_id = fields.Many2one("res.partner", "Contact", ondelete="set null")
    company_id = fields.Many2one("res.company", ondelete="cascade")
    user_id = fields.Many2one("res.users", ondelete="set null")
    currency_id = fields.Many2one("res.currency")
    calls = fields.Integer()
    # numeric(20, 0): sums of tokens outgrow a 32-bit integer
    input_tokens = fields.Float(digits=(20, 0))
    cached_input_tokens = fields.Float(digits=(20, 0))
    output_tokens = fields.Float(digits=(20, 0))
    reasoning_tokens = fields.Float(digits=(20, 0))
    total_tokens = fields.Float(digits=(20, 0))
    cost_company = fields.Float(digits=(20, 8))
    priced_calls = fields.Integer()

    def _summarize(self, start, end, until):
        """Replace the rows of the months that the days [start, end) are in
        with the sums of their logs before ``until``."""
        first = start.replace(day=1)
        last = (end - timedelta(days=1)).replace(day=1) + relativedelta(months=1)
        cr = self.env.cr
        cr.execute(
            SQL(
                "DELETE FROM ai_usage_log_contact WHERE month >= %s AND month < %s",
                first,
                last,
            )
        )
        cr.execute(
            SQL(
                """
                INSERT INTO ai_usage_log_contact (
                    month, partner_id, company_id, user_id, currency_id, calls,
                    input_tokens, cached_input_tokens, output_tokens,
                    reasoning_tokens, total_tokens, cost_company, priced_calls)
                SELECT date_trunc('month', request_time)::date, partner_id,
                       company_id, user_id, currency_id, count(*),
                       COALESCE(sum(input_tokens), 0),
                       COALESCE(sum(cached_input_tokens), 0),
                       COALESCE(sum(output_tokens), 0),
                       COALESCE(sum(reasoning_tokens), 0),
                       COALESCE(sum(total_tokens), 0),
                       COALESCE(sum(cost_company), 0), count(cost_company)
                  FROM ai_usage_log
                 WHERE request_time >= %s AND request_time < %s
              GROUP BY 1, 2, 3, 4, 5
                """,
                fields.Datetime.to_datetime(first),
                fields.Datetime.to_datetime(min(last, until)),
            )
        )
        self.invalidate_model()
