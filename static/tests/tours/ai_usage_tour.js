import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("ai_usage_log_tour", {
    steps: () => [
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
    ],
});
