from odoo import fields, models


class AiUsageSummedCalls(models.AbstractModel):
    """Calls added up by service, model, request type, status and currency:
    the measures shared by the daily summary and the all-time totals."""

    _name = "ai.usage.summed.calls"
    _description = "AI Usage Summed Calls"
    _log_access = False

    service_id = fields.Many2one("ai.service", ondelete="cascade", index=True)
    model = fields.Char()
    request_type = fields.Char()
    status = fields.Char()
    currency_id = fields.Many2one("res.currency")
    calls = fields.Integer()
    # numeric(20, 0): sums of tokens outgrow a 32-bit integer
    input_tokens = fields.Float(digits=(20, 0))
    cached_input_tokens = fields.Float(digits=(20, 0))
    output_tokens = fields.Float(digits=(20, 0))
    reasoning_tokens = fields.Float(digits=(20, 0))
    cost = fields.Float(digits=(20, 8), help="In the price currency.")
    priced_calls = fields.Integer()
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
