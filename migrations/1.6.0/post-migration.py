"""1.6: the closed days of the report readers' time zones are summed too
(ai.usage.log.local), so that their groupings by date read them."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    until = env["ai.usage.log.daily"]._summary_until()
    if until:
        env["ai.usage.log.local"]._sync_zones(until)
