"""Demo logs: realistic calls over the last weeks, for the demo database."""

import random
from datetime import timedelta

from odoo import fields

DEMO_ENDPOINTS = {
    "anthropic": "messages",
    "gemini": "models/gemini-2.5-flash:generateContent",
}
# per request type, the models the demo services of the other providers call
DEMO_MODELS = {
    "anthropic": {
        "call_summary": ["claude-haiku-4-5-20251001"],
        "transcript_analysis": ["claude-sonnet-4-5-20250929"],
        "contact_analysis": ["claude-haiku-4-5-20251001"],
        "custom_prompt": ["claude-sonnet-4-5-20250929"],
        "vision_analysis": ["claude-sonnet-4-5-20250929"],
        "test_connection": [None],
        "other": ["claude-opus-4-1-20250805"],
    },
    "gemini": {
        "call_summary": ["gemini-2.5-flash"],
        "transcript_analysis": ["gemini-2.5-pro"],
        "contact_analysis": ["gemini-2.5-flash-lite"],
        "custom_prompt": ["gemini-2.5-pro"],
        "vision_analysis": ["gemini-2.5-flash"],
        "test_connection": [None],
        "other": ["gemini-2.5-flash"],
    },
}


def create_demo_logs(logs, service_id, count, days):
    """``count`` logs of the service over the last ``days`` days, priced."""
    rng = random.Random(18 + service_id)  # each demo service its own calls
    service = logs.env["ai.service"].browse(service_id)
    users = logs.env.ref("base.user_admin") | logs.env.ref(
        "base.user_demo", raise_if_not_found=False
    )
    partners = logs.env["res.partner"].search([("is_company", "=", False)], limit=10)
    models_by_type = DEMO_MODELS.get(service.provider) or {
        "call_summary": ["gpt-4o-mini-2024-07-18", "gpt-4.1-mini"],
        "transcript_analysis": ["gpt-4.1", "gpt-5-mini"],
        "contact_analysis": ["gpt-4o-mini", "o4-mini"],
        "custom_prompt": ["gpt-5", "gpt-4o"],
        "vision_analysis": ["gpt-4o"],
        "test_connection": [None],
        "other": ["text-embedding-3-small", "gpt-6-preview"],
    }
    weights = [30, 20, 15, 10, 10, 2, 13]
    now = fields.Datetime.now()
    since_midnight = (now - now.replace(hour=0, minute=0, second=0)).total_seconds()
    for index in range(count):
        request_type = rng.choices(list(models_by_type), weights)[0]
        model_name = rng.choice(models_by_type[request_type])
        when = now - timedelta(days=rng.uniform(0, days))
        if index % 30 == 0:  # a few calls of the day of install: "Today" is not empty
            when = now - timedelta(seconds=rng.uniform(0, max(since_midnight, 60)))
        failed = rng.random() < 0.06
        log = logs.create(
            {
                "service_id": service.id,
                "provider": service.provider,
                "company_id": service.company_id.id,
                "request_type": request_type,
                "endpoint": "models"
                if request_type == "test_connection"
                else DEMO_ENDPOINTS.get(service.provider, "chat/completions"),
                "model": model_name,
                "request_time": when,
                "user_id": rng.choice(users).id,
                "partner_id": rng.choice(partners).id
                if partners and rng.random() < 0.6
                else False,
                "location_id": rng.choice(
                    ["loc-paris", "loc-lyon", "loc-brussels", "unknown"]
                ),
                "message_id": f"msg-{10000 + index}",
                "contact_id": f"contact-{rng.randint(1, 60)}",
                "conversation_id": f"conv-{rng.randint(1, 150)}",
                "status": "failed" if failed else "success",
                "response_time": when + timedelta(milliseconds=rng.randint(300, 9000)),
            }
        )
        log.duration_ms = int((log.response_time - when).total_seconds() * 1000)
        if failed:
            code, status, message = rng.choice(
                [
                    (
                        "rate_limit_exceeded",
                        429,
                        (
                            f"Rate limit reached for {model_name or 'the model'} on "
                            "requests per min (RPM): Limit 500, Used 500, Requested 1."
                        ),
                    ),
                    (
                        "server_error",
                        500,
                        "The server had an error while processing your request.",
                    ),
                    ("timeout", 0, "ReadTimeout: the API did not answer in time."),
                ]
            )
            log.write(
                {
                    "error_code": code,
                    "http_status": status or False,
                    "error_message": message,
                    "usage_state": "missing",
                }
            )
            continue
        if not model_name:
            log.write({"usage_state": "missing", "http_status": 200})
            continue
        input_tokens = rng.randint(200, 6000)
        output_tokens = (
            0 if model_name.startswith("text-embedding") else rng.randint(50, 1200)
        )
        usage = {
            "input_tokens": input_tokens,
            "cached_input_tokens": rng.choice([0, 0, input_tokens // 2]),
            "output_tokens": output_tokens,
            "reasoning_tokens": output_tokens // 2
            if model_name.startswith(("o4", "gpt-5"))
            else 0,
            "total_tokens": input_tokens + output_tokens,
        }
        vals = log._usage_vals(usage, model_name, log._pricing_inputs())
        vals.update(
            http_status=200,
            # about 4 characters of text per visible output token
            response_length=(output_tokens - usage["reasoning_tokens"]) * 4,
            response_model=model_name,
            finish_reason="stop",
            response_id=f"chatcmpl-demo{index}",
        )
        log.write(vals)
        if vals.get("price_missing"):
            log._clear_cost()
    return True


def create_demo_reconciliation(reconciliation, service_id, days=14):
    """Billed figures for a demo service's last days, as its provider would
    report them: the logged ones, with a few calls made outside Odoo (a
    tokens drift) and, on some days, a price that is not ours (a price
    drift)."""
    rng = random.Random(19 + service_id)
    service = reconciliation.env["ai.service"].browse(service_id)
    today = fields.Date.context_today(reconciliation.with_context(tz="UTC"))
    first = today - timedelta(days=days - 1)
    logged = reconciliation._logged(service, first, today + timedelta(days=1))
    usage, costs = {}, {}
    for (day, model), (requests, inputs, cached, outputs, cost) in logged.items():
        outside = 1.0 if rng.random() < 0.7 else rng.uniform(1.05, 1.4)
        price = 1.0 if rng.random() < 0.8 else rng.uniform(0.9, 1.15)
        counts = {
            "requests": round(requests * outside)
            if service.provider == "openai"
            else 0,
            "input_tokens": round(inputs * outside),
            "cached_tokens": round(cached * outside),
            "output_tokens": round(outputs * outside),
        }
        usage[(day, model)] = dict(counts, tiers={"standard": counts})
        per_day = costs.setdefault(day, {"USD": 0.0})
        per_day["USD"] += cost * outside * price
    rows = reconciliation._rows(service, usage, costs, logged)
    return reconciliation.create(rows)


def grant_demo_employee(env):
    """The demo employee, whose calls are part of the demo, may see them."""
    from .compat import add_to_group

    employee = env.ref("base.user_demo", raise_if_not_found=False)
    if employee:
        add_to_group(env.ref("ai_usage_log.group_ai_usage_user"), employee)
