"""Every screen of the AI Usage menu, as an AI administrator and as an AI
user, in a real browser: each action the role's menu shows, in each view
mode it declares, and the form of its first record. A client error or a
server traceback fails the test (Odoo's browser_js fails on any console
error)."""

import json
import os
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from ..models.ai_usage_log_daily import SUMMARY_UNTIL_PARAM
from .common import AiHttpCase

# Opens each (action id, view type, record id or false) in turn, as the web
# client does from a menu, letting each screen load and render.
with open(
    os.path.join(os.path.dirname(__file__), "open_each_screen.js"), encoding="utf-8"
) as script:
    OPEN_EACH = script.read()


@tagged("post_install", "-at_install")
class TestScreens(AiHttpCase):
    login = "ai_screens_user"
    admin_login = "ai_screens_admin"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # records to open: a call of each role, a budget, an alert
        for user in (cls.user, cls.admin):
            cls.env["ai.usage.log"].create(
                {
                    "service_id": cls.service.id,
                    "user_id": user.id,
                    "model": "gpt-4o-mini",
                    "status": "success",
                    "total_tokens": 10,
                }
            )
        # calls of closed days, summed: the reports the browser opens are
        # served from the summaries, the user's local days (Brussels) too
        cls.user.tz = "Europe/Brussels"
        now = fields.Datetime.now()
        cls.env["ai.usage.log"].create(
            [
                {
                    "service_id": cls.service.id,
                    "user_id": user.id,
                    "partner_id": user.partner_id.id,
                    "model": "gpt-4o-mini",
                    "status": "success",
                    "total_tokens": 10,
                    "request_time": now - timedelta(days=days_ago),
                }
                for user in (cls.user, cls.admin)
                for days_ago in (3, 4, 40)
            ]
        )
        until = now.date() - timedelta(days=1)
        cls.env["ir.config_parameter"].set_param(SUMMARY_UNTIL_PARAM, str(until))
        cls.env["ai.usage.log.daily"]._summarize(now.date() - timedelta(days=41), until)
        cls.env["ai.usage.log.local"]._sync_zones(until)
        cls.env["ai.usage.budget"].create(
            {"name": "Screens", "company_id": cls.env.company.id, "limit_cost": 5}
        )
        # the first service's form has a backup, the first log of each role
        # (its latest) is the end of a fallback chain: the forms show them
        backup = cls.env["ai.service"].create(
            {"name": "Backup", "api_base_url": cls.fake.url}
        )
        cls.env["ai.service.fallback"].create(
            {"service_id": cls.service.id, "backup_id": backup.id, "model": "gpt-4.1"}
        )
        for user in (cls.user, cls.admin):
            first = cls.env["ai.usage.log"].create(
                {
                    "service_id": cls.service.id,
                    "user_id": user.id,
                    "model": "gpt-4o-mini",
                    "status": "fallback",
                    "http_status": 503,
                    "error_code": "server_error",
                }
            )
            cls.env["ai.usage.log"].create(
                {
                    "service_id": backup.id,
                    "user_id": user.id,
                    "model": "gpt-4.1",
                    "status": "success",
                    "total_tokens": 10,
                    "fallback_of_id": first.id,
                    "fallback_attempt": 1,
                }
            )
        # reconciled days of both providers, the drift split, for the
        # reconciliation's list, pivot cells and form
        claude = cls.env["ai.service"].create(
            {"name": "Claude", "provider": "anthropic", "active": False}
        )
        cls.env["ai.usage.reconciliation"].create(
            {
                "service_id": claude.id,
                "day": "2026-11-30",
                "kind": "usage",
                "model": "claude-sonnet-4-5",
                "billed_tokens": 1200,
                "logged_tokens": 1000,
                "token_drift": 200,
                "valued_cost": 0.006,
                "token_cost_drift": 0.0006,
                "price_cost_drift": 0.0001,
                "drift_cause": "tokens",
                "currency_id": cls.env.ref("base.USD").id,
            }
        )
        cls.env["ai.usage.reconciliation"].create(
            {
                "service_id": cls.service.id,
                "day": "2026-11-30",
                "kind": cls.env["ai.usage.reconciliation"]
                ._fields["kind"]
                .selection[0][0],
                "model": "gpt-4o-mini",
                "billed_tokens": 120,
                "logged_tokens": 100,
                "token_drift": 20,
                "billed_cost": 0.012,
                "logged_cost": 0.01,
                "cost_drift": 0.002,
                "drift_percent": 20,
                "currency_id": cls.env.ref("base.USD").id,
            }
        )

    def screens(self, user):
        """(action id, view type, record id) of every screen of the AI Usage
        menu that ``user`` sees."""
        root = self.env.ref("ai_usage_log.menu_ai_usage_root")
        Menu = self.env["ir.ui.menu"].with_user(user)
        # the menus the web client shows the user (their action's model readable)
        visible = Menu._visible_menu_ids()
        menus = Menu.search(
            [("id", "child_of", root.id), ("action", "!=", False)]
        ).filtered(lambda menu: menu.id in visible)
        self.assertTrue(menus)
        found = []
        for menu in menus:
            action = menu.action.sudo()
            if action._name != "ir.actions.act_window":
                found.append((action.id, False, False))
                continue
            if action.res_model == "res.config.settings":
                found.append((action.id, "form", False))
                continue
            modes = [mode.strip() for mode in action.view_mode.split(",")]
            found += [(action.id, mode, False) for mode in modes if mode != "form"]
            first = self.env[action.res_model].with_user(user).search([], limit=1)
            if first:
                found.append((action.id, "form", first.id))
        return found

    def test_every_screen_opens_for_each_role(self):
        served = (
            self.env["ai.usage.log"]
            .with_user(self.user)
            .with_context(tz="Europe/Brussels")
        )
        self.assertIsNotNone(
            served._summary_plan([], ["request_time:day"], ["__count"], ())
        )
        for user in (self.admin, self.user):
            with self.subTest(user=user.login):
                screens = self.screens(user)
                self.assertGreater(len(screens), 10 if user == self.admin else 4)
                self.browser_js(
                    "/odoo",
                    OPEN_EACH % json.dumps(screens),
                    ready="odoo.isReady",  # the web client is mounted
                    login=user.login,
                    timeout=240,
                )
