{
    "name": "AI Usage Log",
    "version": "1.2.0",
    "category": "Productivity",
    "summary": "Log, price and report every AI call: OpenAI, Anthropic, Gemini...",
    "author": "ai_usage_log developers",
    "website": "https://github.com/ai-usage-log/ai_usage_log",
    "license": "LGPL-3",
    "depends": ["base", "web", "mail"],
    "external_dependencies": {"python": ["requests", "genai_prices"]},
    "data": [
        "security/ai_usage_log_groups.xml",
        "security/ir.model.access.csv",
        "security/ai_usage_log_rules.xml",
        "data/ai_model_price_data.xml",
        "data/ir_cron_data.xml",
        "views/ai_usage_log_views.xml",
        "views/ai_service_views.xml",
        "views/ai_model_price_views.xml",
        "views/ai_usage_budget_views.xml",
        "views/ai_usage_alert_views.xml",
        "views/ai_usage_log_menus.xml",
        "security/ai_usage_log_group_setup.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "ai_usage_log/static/src/**/*",
        ],
        "web.assets_tests": [
            "ai_usage_log/static/tests/tours/*.js",
        ],
    },
    "demo": [
        "demo/ai_usage_log_demo.xml",
    ],
    "uninstall_hook": "uninstall_hook",
    "installable": True,
    "application": True,
}
