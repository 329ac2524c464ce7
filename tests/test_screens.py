"""Every screen of the AI Usage menu, as an AI administrator and as an AI
user, in a real browser: each action the role's menu shows, in each view
mode it declares, and the form of its first record. A client error or a
server traceback fails the test (Odoo's browser_js fails on any console
error)."""

import json

from odoo.tests import new_test_user, tagged

from .common import AiHttpCase

# Opens each (action id, view type, record id or false) in turn, as the web
# client does from a menu, letting each screen load and render.
OPEN_EACH = """
(async () => {
    const screens = %s;
    const action = odoo.__WOWL_DEBUG__.root.env.services.action;
    const settle = () => new Promise((resolve) => setTimeout(resolve, 400));
    // as soon as the screen shows (a figure opens its logs in a few dozen ms)
    const until = async (selector) => {
        for (let waited = 0; waited < 5000 && !document.querySelector(selector); waited += 25) {
            await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    };
    const logsShown = ".o_action_manager :is(.o_list_view, .o_pivot_view)";
    const failed = (what) => {
        if (document.querySelector(".o_error_dialog")) {
            console.error(`An error dialog opened on ${what}`);
            return true;
        }
        return false;
    };
    const opened = (what) => {
        if (!document.querySelector(logsShown)) {
            console.error(`${what} opened no logs`);
            return false;
        }
        return true;
    };
    for (const [id, viewType, resId] of screens) {
        const options = { clearBreadcrumbs: true };
        if (resId) {
            options.props = { resId };
        }
        const open = () => action.doAction(id, Object.assign({}, options, { viewType }));
        await open();
        await settle();
        const what = `action ${id} (${viewType})`;
        if (failed(what)) {
            return;
        }
        // a pivot cell opens the records behind it
        const cell = document.querySelector(".o_pivot .o_pivot_cell_value:not(.o_empty)");
        if (viewType === "pivot" && cell) {
            cell.click();
            await until(`.o_action_manager .o_list_view, .o_error_dialog`);
            if (failed(`a cell of ${what}`) || !opened(`a cell of ${what}`)) {
                return;
            }
        }
        // each figure of the dashboard opens the logs behind it (today's bar
        // for the 30 days')
        const figures = ".o_ai_usage_figure, .o_ai_usage_previous, .o_ai_usage_unpriced, " +
            ".o_ai_usage_top_row, .o_ai_usage_budget_row, .o_ai_usage_trend_day:last-child";
        const count = document.querySelectorAll(`.o_ai_usage_dashboard :is(${figures})`).length;
        for (let index = 0; index < count; index++) {
            document.querySelectorAll(`.o_ai_usage_dashboard :is(${figures})`)[index].click();
            await until(`${logsShown}, .o_error_dialog`);
            if (failed(`figure ${index} of ${what}`) || !opened(`figure ${index} of ${what}`)) {
                return;
            }
            await open();
            await until(".o_ai_usage_dashboard .o_ai_usage_figure");
        }
        if (count) {
            console.log(`${count} dashboard figures opened their logs`);
        }
    }
    console.log("test successful");
})();
"""


@tagged("post_install", "-at_install")
class TestScreens(AiHttpCase):
    login = "ai_screens_user"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = new_test_user(
            cls.env,
            login="ai_screens_admin",
            groups="base.group_user,base.group_system,ai_usage_log.group_ai_usage_admin",
        )
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
        cls.env["ai.usage.budget"].create(
            {"name": "Screens", "company_id": cls.env.company.id, "limit_cost": 5}
        )
        # a reconciled day, for the reconciliation's list, pivot cell and form
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
