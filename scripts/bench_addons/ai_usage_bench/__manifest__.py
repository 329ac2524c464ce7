{
    "name": "AI Usage Log: workers benchmark route",
    "version": "1.0.0",
    "summary": "Routes calling openai_client(), and the same call made without the"
    " add-on, for scripts/bench_workers.sh only",
    "author": "ai_usage_log developers",
    "license": "LGPL-3",
    "depends": ["ai_usage_log"],
    "data": ["security/ir.model.access.csv"],
    "installable": True,
}
