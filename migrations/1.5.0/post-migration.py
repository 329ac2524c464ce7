"""1.5: the daily summary also groups by provider, price tier, source module
and capture, so that the reports grouped by them read it (Cost by Provider,
Cost by Tier, Cost by Module). Its closed days are summed again, with them."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    daily = env["ai.usage.log.daily"]
    until = daily._summary_until()
    cr.execute("SELECT min(day) FROM ai_usage_log_daily")
    first = cr.fetchone()[0]
    if until and first:
        daily._summarize(first, until)
