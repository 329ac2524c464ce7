// Run by tests/test_screens.py in the browser, the screens to open filled in
// below: [action id, view type, record id or false].
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
