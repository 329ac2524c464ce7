import { registry } from "@web/core/registry";

const openTheApp = [
    {
        content: "Open the apps menu",
        trigger: ".o_navbar_apps_menu button",
        run: "click",
    },
    {
        content: "Open the AI Usage app",
        trigger: ".o_app[data-menu-xmlid='ai_usage_log.menu_ai_usage_root']",
        run: "click",
    },
];

registry.category("web_tour.tours").add("ai_usage_log_tour", {
    steps: () => [
        ...openTheApp,
        {
            content: "The dashboard is titled as its menu",
            trigger: ".o_control_panel .o_breadcrumb:contains('Dashboard')",
        },
        {
            content: "A database with services is not asked to create one",
            trigger: ".o_ai_usage_dashboard:not(:has(.o_ai_usage_no_service))",
        },
        {
            content: "The dashboard shows this month's calls",
            trigger: ".o_ai_usage_dashboard [data-period='month'] .o_ai_usage_calls",
        },
        {
            content: "The dashboard compares this month with the last",
            trigger: ".o_ai_usage_dashboard [data-period='month'] .o_ai_usage_previous",
        },
        {
            content: "The trend shows the last 30 days, today's bar drawn",
            trigger: ".o_ai_usage_trend .o_ai_usage_trend_day:last-child div[style*='min-height: 2px']",
        },
        {
            content: "Open the usage logs",
            trigger: ".o_menu_sections [data-menu-xmlid='ai_usage_log.menu_ai_usage_logs']",
            run: "click",
        },
        {
            content: "The list shows this month's logs",
            trigger: ".o_list_view .o_data_row",
        },
        {
            content: "A cost reads with its currency and 4 significant decimals",
            trigger: ".o_list_view .o_data_row .o_ai_cost:contains('$'):contains('0.0048'):not(:contains('0.00480000'))",
        },
        {
            content: "A call without a price says so in its cost",
            trigger: ".o_list_view .o_data_row:contains('gpt-9-preview') .o_ai_cost_unpriced:contains('no price')",
        },
        {
            content: "The footer's sum says it leaves out the unknown cost",
            trigger: ".o_list_view tfoot .o_list_number:contains('+ 1 unknown')",
        },
        {
            content: "Open the call without a price",
            trigger: ".o_list_view .o_data_row:contains('gpt-9-preview') .o_data_cell",
            run: "click",
        },
        {
            content: "Add its price from the call",
            trigger: ".o_form_view .alert-warning button[name='action_add_price']",
            run: "click",
        },
        {
            content: "The new price is for the call's model",
            trigger: ".modal .o_field_widget[name='model_name'] input:value(gpt-9-preview)",
        },
        {
            content: "Give it an input price",
            trigger: ".modal .o_field_widget[name='input_price'] input",
            run: "edit 2.5 && click .modal-body",
        },
        {
            content: "Save the price",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "Recompute the call's cost",
            trigger: "body:not(:has(.modal)) .o_form_view button[name='action_recompute_cost']",
            run: "click",
        },
        {
            content: "Recompute Cost says what it did",
            trigger: ".o_notification:contains('1 of 1 re-priced.')",
        },
        {
            content: "The call now has a cost",
            trigger: ".o_form_view:not(:has(.alert-warning)) .o_field_widget[name='cost'] .o_ai_cost:contains('$')",
        },
        {
            content: "Back to the list",
            trigger: ".o_breadcrumb a:contains('Usage Logs')",
            run: "click",
        },
        {
            content: "Every cost of the page is known now",
            trigger: ".o_list_view tfoot .o_list_number:contains('$'):not(:contains('unknown'))",
        },
        {
            content: "Open the filters",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Filter the failed calls",
            trigger: ".o_filter_menu .dropdown-item:contains('Failed')",
            run: "click",
        },
        {
            content: "Only failed calls remain",
            trigger: ".o_list_view .o_data_row:contains('Failed')",
        },
        {
            trigger: ".o_list_view:not(:has(.o_data_row:contains('Success')))",
        },
        {
            content: "Switch to the pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot's costs read in the company currency",
            trigger: ".o_pivot .o_pivot_cell_value:contains('$')",
        },
        {
            content: "Switch to the graph",
            trigger: ".o_switch_view.o_graph",
            run: "click",
        },
        {
            trigger: ".o_graph_renderer canvas",
        },
        {
            content: "Back to the list",
            trigger: ".o_switch_view.o_list",
            run: "click",
        },
        {
            content: "Open one failed call",
            trigger: ".o_list_view .o_data_row:contains('rate_limit_exceeded') .o_data_cell",
            run: "click",
        },
        {
            content: "The form shows the error",
            trigger: ".o_form_view .alert-danger:contains('rate_limit_exceeded')",
        },
        {
            content: "Open the configuration menu",
            trigger: ".o_menu_sections [data-menu-xmlid='ai_usage_log.menu_ai_usage_config']",
            run: "click",
        },
        {
            content: "Open the AI Usage settings",
            trigger: "[data-menu-xmlid='ai_usage_log.menu_ai_usage_settings']",
            run: "click",
        },
        {
            content: "The settings show the retention",
            trigger: ".app_settings_block[data-key='ai_usage_log'] #ai_usage_retention input",
        },
        {
            content: "Make a metrics token",
            trigger: "#ai_usage_metrics button[name='action_ai_usage_new_metrics_token']",
            run: "click",
        },
        {
            content: "Confirm that the old token stops working",
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The new token is shown once",
            trigger: ".o_notification:contains('Copy it now')",
        },
        {
            content: "The settings say a token is set, and it can be revoked",
            trigger: "#ai_usage_metrics:contains('A token is set') button[name='action_ai_usage_revoke_metrics_token']",
        },
        {
            content: "The catalogue's version is named",
            trigger: "#ai_usage_prices:contains('genai-prices')",
        },
        {
            content: "Open the configuration menu",
            trigger: ".o_menu_sections [data-menu-xmlid='ai_usage_log.menu_ai_usage_config']",
            run: "click",
        },
        {
            content: "Open the price list",
            trigger: "[data-menu-xmlid='ai_usage_log.menu_ai_usage_prices']",
            run: "click",
        },
        {
            content: "Look for one model",
            trigger: ".o_list_view .o_searchview_input",
            run: "edit gpt-4o-mini",
        },
        {
            trigger: ".o_list_view .o_searchview_input",
            run: "press Enter",
        },
        {
            content: "A price reads as the price list states it: its symbol, no padding",
            trigger:
                ".o_list_view .o_data_row:contains('gpt-4o-mini') td[name='input_price']" +
                ":contains('$'):contains('0.15'):not(:contains('0.150000'))",
        },
    ],
});

// An employee (AI Usage / User) meets their own figures only.
registry.category("web_tour.tours").add("ai_usage_log_employee_tour", {
    steps: () => [
        ...openTheApp,
        {
            content: "This month counts the employee's 7 calls, not the company's 11",
            trigger: ".o_ai_usage_dashboard [data-period='month'] .o_ai_usage_calls .fs-3:contains('7')",
        },
        {
            content: "No configuration for an employee",
            trigger: ".o_main_navbar:not(:has([data-menu-xmlid='ai_usage_log.menu_ai_usage_config']))",
        },
        {
            content: "The budgets say whose calls they count: the employee's own",
            trigger: ".o_ai_usage_budgets .o_ai_usage_budget_row:contains('Employee budget') .o_ai_usage_budget_scope:contains('My calls')",
        },
        {
            content: "...and the company's",
            trigger: ".o_ai_usage_budgets .o_ai_usage_budget_row:contains('Company budget') .o_ai_usage_budget_scope:contains('Company')",
        },
        {
            content: "Not the budget of another user",
            trigger: ".o_ai_usage_budgets:not(:has(.o_ai_usage_budget_row:contains('Admin budget')))",
        },
        {
            content: "Open this month's calls",
            trigger: ".o_ai_usage_dashboard [data-period='month'] .o_ai_usage_calls",
            run: "click",
        },
        {
            content: "The list says what was clicked",
            trigger: ".o_last_breadcrumb_item:contains('Calls This Month')",
        },
        {
            content: "...as a facet that can be removed",
            trigger: ".o_searchview_facet .o_facet_value:contains('This Month')",
        },
        {
            content: "The employee's 7 calls",
            trigger: ".o_pager_limit:contains('7')",
        },
        {
            trigger: ".o_list_view .o_data_row",
        },
        {
            content: "None of another user's calls",
            trigger: ".o_list_view:not(:has(.o_data_row:contains('Mitchell Admin')))",
        },
    ],
});

// A new database: the dashboard says where to start, and the button starts it.
registry.category("web_tour.tours").add("ai_usage_log_first_service_tour", {
    steps: () => [
        ...openTheApp,
        {
            content: "No service yet: the dashboard says so",
            trigger: ".o_ai_usage_no_service:contains('No AI service is set up yet')",
        },
        {
            content: "Create the first service",
            trigger: ".o_ai_usage_first_service",
            run: "click",
        },
        {
            content: "A new service's form, its provider proposed",
            trigger: ".o_form_view .o_field_widget[name='provider']",
        },
        {
            content: "...where the key goes",
            trigger: ".o_form_view .o_field_widget[name='api_key'] input",
        },
    ],
});
