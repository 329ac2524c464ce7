{
    "name": "AI Usage Log: workers benchmark route",
    "version": "1.0.0",
    "summary": "A route calling openai_client(), for scripts/bench_workers.sh only",
    "author": "ai_usage_log developers",
    "license": "LGPL-3",
    "depends": ["ai_usage_log"],
    "installable": True,
}
