from odoo import fields, models


class AiUsageBenchRecord(models.Model):
    """What the baseline route keeps of a call it made without the add-on:
    the one record a module that calls OpenAI its own way writes."""

    _name = "ai.usage.bench.record"
    _description = "AI call made without the add-on (benchmark)"

    message_id = fields.Char()
    model = fields.Char()
    input_tokens = fields.Integer()
    output_tokens = fields.Integer()
    summary = fields.Text()
