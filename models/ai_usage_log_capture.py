from odoo import fields, models


class AiUsageLog(models.Model):
    """What a log says of a captured call: one made by code that never heard
    of this add-on, seen at the transport (captured_calls)."""

    _inherit = "ai.usage.log"

    is_captured = fields.Boolean(
        "Captured",
        readonly=True,
        help="Made by code that does not use this add-on's helpers (another "
        "module's requests, httpx or SDK call), logged where it left Odoo.",
    )
    source_module = fields.Char(
        index=True,
        readonly=True,
        help="The Odoo module whose code made the call (captured calls).",
    )
    cron_id = fields.Many2one(
        "ir.cron",
        "Scheduled Action",
        ondelete="set null",
        readonly=True,
        groups="base.group_system",  # who may read scheduled actions
        help="The scheduled action that made the call, when one did.",
    )
    api_key_hint = fields.Char(
        "API Key",
        readonly=True,
        help="A fingerprint of the key a captured call was sent with (its first "
        "and last characters, as providers show them): the key is never stored.",
    )
