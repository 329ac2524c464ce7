from odoo import models
from odoo.tools import SQL

from .ai_usage_log_daily import BUCKET_COLUMNS, DURATION_BUCKETS_MS


class AiUsageLogTotal(models.Model):
    """All the closed days of the daily summary added up, by service,
    model, request type, status and currency: what the metrics scrape reads
    (with the logs of the days since), a few rows whatever the history."""

    _name = "ai.usage.log.total"
    _inherit = ["ai.usage.summed.calls"]
    _description = "AI Usage All-Time Totals"
    _log_access = False

    def _rebuild(self):
        """Add the daily summary up again, after it changed."""
        columns = SQL(
            "service_id, model, request_type, status, currency_id, calls, input_tokens,"
            " cached_input_tokens, output_tokens, reasoning_tokens, total_tokens, cost,"
            " cost_company, priced_calls,"
            " finished_calls, duration_ms_sum, %s",
            BUCKET_COLUMNS,
        )
        self.env.cr.execute("DELETE FROM ai_usage_log_total")
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO ai_usage_log_total (%s)
                SELECT service_id, model, request_type, status, currency_id, sum(calls),
                       sum(input_tokens), sum(cached_input_tokens), sum(output_tokens),
                       sum(reasoning_tokens), sum(total_tokens), sum(cost),
                       sum(cost_company), sum(priced_calls),
                       sum(finished_calls), sum(duration_ms_sum), %s
                  FROM ai_usage_log_daily
              GROUP BY 1, 2, 3, 4, 5
                """,
                columns,
                SQL(", ").join(
                    SQL("sum(%s)", SQL.identifier(f"duration_le_{bound}"))
                    for bound in DURATION_BUCKETS_MS
                ),
            )
        )
        self.invalidate_model()
