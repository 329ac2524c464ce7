{
    "name": "AI Usage Log: capture probe",
    "version": "1.0.0",
    "summary": "Calls AI providers its own way, for the capture tests only",
    "author": "ai_usage_log developers",
    "license": "LGPL-3",
    # not on ai_usage_log: it is also installed alone, in a database without it
    "depends": ["base"],
    "data": ["security/ir.model.access.csv", "data/ir_cron.xml"],
    "installable": True,
}
