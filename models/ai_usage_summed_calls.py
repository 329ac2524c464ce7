from odoo import fields, models
from odoo.tools import SQL

# the measures of a summary row, and their sums over its logs, in one order
MEASURE_COLUMNS = SQL(
    "calls, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens,"
    " total_tokens, cost_company, priced_calls"
)
MEASURE_SUMS = SQL(
    "count(*), COALESCE(sum(input_tokens), 0), COALESCE(sum(cached_input_tokens), 0),"
    " COALESCE(sum(output_tokens), 0), COALESCE(sum(reasoning_tokens), 0),"
    " COALESCE(sum(total_tokens), 0), COALESCE(sum(cost_company), 0),"
    " count(cost_company)"
)

# the dimensions of a day's row, in the daily summary and in a zone's local days
DAY_COLUMNS = SQL(
    "service_id, company_id, user_id, model, request_type, status, currency_id,"
    " provider, price_tier, source_module, is_captured"
)


class AiUsageSummedMeasures(models.AbstractModel):
    """What a summary row adds up of its logs: the calls, their tokens of
    every kind and their cost in the company currency, shared by the daily
    summary, the local days, the monthly contacts and the totals."""

    _name = "ai.usage.summed.measures"
    _description = "AI Usage Summed Measures"
    _log_access = False

    calls = fields.Integer()
    # numeric(20, 0): sums of tokens outgrow a 32-bit integer
    input_tokens = fields.Float(digits=(20, 0))
    cached_input_tokens = fields.Float(digits=(20, 0))
    output_tokens = fields.Float(digits=(20, 0))
    reasoning_tokens = fields.Float(digits=(20, 0))
    total_tokens = fields.Float(digits=(20, 0))
    cost_company = fields.Float(digits=(20, 8))
    priced_calls = fields.Integer()


class AiUsageSummedCalls(models.AbstractModel):
    """Calls added up by service, model, request type, status and currency:
    the measures shared by the daily summary and the all-time totals."""

    _name = "ai.usage.summed.calls"
    _inherit = ["ai.usage.summed.measures"]
    _description = "AI Usage Summed Calls"
    _log_access = False

    service_id = fields.Many2one("ai.service", ondelete="cascade", index=True)
    model = fields.Char()
    request_type = fields.Char()
    status = fields.Char()
    currency_id = fields.Many2one("res.currency")
    cost = fields.Float(digits=(20, 8), help="In the price currency.")
    finished_calls = fields.Integer(
        help="Calls with a duration, for the duration histogram."
    )
    duration_ms_sum = fields.Float()
    # finished calls of at most 100 ms, 250 ms... (DURATION_BUCKETS_MS)
    duration_le_100 = fields.Integer()
    duration_le_250 = fields.Integer()
    duration_le_500 = fields.Integer()
    duration_le_1000 = fields.Integer()
    duration_le_2500 = fields.Integer()
    duration_le_5000 = fields.Integer()
    duration_le_10000 = fields.Integer()
    duration_le_30000 = fields.Integer()
    duration_le_60000 = fields.Integer()
    duration_le_120000 = fields.Integer()
