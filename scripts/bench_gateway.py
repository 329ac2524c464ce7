"""The gateway's overhead against calling the provider directly.

The same openai SDK client code asks the fake provider for a chat
completion (and a stream's first chunk) directly, then through a real Odoo
server's /ai_usage/v1 with an Odoo API key: alternately, in the same run, so
both see the same machine. What the gateway adds is its authentication, the
call's two log writes, its price and its budget checks. Prints the p50 and
p90 of each, the overhead in ms and the ratio; checks that every gateway
call was logged."""

import logging
import sys
import time

from bench_common import (
    load_fake_server,
    open_registry,
    percentile,
    start_odoo,
    stop_odoo,
    wait_for_odoo,
)

MESSAGES = [{"role": "user", "content": "Summarise the call in one sentence."}]


def set_up(registry, fake):
    """A service on the fake provider, and an AI user's Odoo API key."""
    from odoo import SUPERUSER_ID, api

    from odoo.addons.ai_usage_log.compat import add_to_group

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["ai.service"].search([]).action_archive()
        env["ai.service"].create(
            {
                "name": "Bench OpenAI",
                "api_base_url": fake.url,
                "api_key": "sk-bench-0123456789abcdef",
                "default_model": "gpt-4o-mini",
                "max_retries": 0,
            }
        )
        user = env["res.users"].create(
            {"name": "Gateway client", "login": "bench_gateway"}
        )
        add_to_group(env.ref("ai_usage_log.group_ai_usage_user"), user)
        return (
            env["res.users.apikeys"]
            .with_user(user)
            .sudo()
            ._generate(None, "bench", None)
        )


def chat(client):
    started = time.perf_counter()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    return (time.perf_counter() - started) * 1000


def first_chunk(client):
    """Time to a stream's first chunk, the stream then read to its end."""
    started = time.perf_counter()
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    first = None
    for _chunk in stream:
        if first is None:
            first = (time.perf_counter() - started) * 1000
    return first


def logged(registry):
    with registry.cursor() as cr:
        cr.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'success')"
            " FROM ai_usage_log WHERE request_type = 'gateway'"
        )
        return cr.fetchone()


def main():
    import openai

    args, registry = open_registry(
        odoo_bin=(str, None),
        logfile=(str, "/tmp/ai_usage_bench_gateway.log"),
        calls=(int, 200),
    )
    for name in ("httpx", "httpx2"):  # a line per request would bury the figures
        logging.getLogger(name).setLevel(logging.WARNING)
    fake = load_fake_server()
    key = set_up(registry, fake)
    server, base_url = start_odoo(args, args.logfile, "--workers=2")
    try:
        wait_for_odoo([base_url], args.logfile)
        clients = {
            "direct": openai.OpenAI(
                base_url=fake.url, api_key="sk-bench", max_retries=0
            ),
            "gateway": openai.OpenAI(
                base_url=f"{base_url}/ai_usage/v1", api_key=key, max_retries=0
            ),
        }
        for client in clients.values():  # connections and caches warmed
            for _ in range(5):
                chat(client)
        warm_calls = 5
        figures = {(name, kind): [] for name in clients for kind in ("chat", "ttft")}
        for _ in range(args.calls):
            for name, client in clients.items():
                figures[name, "chat"].append(chat(client))
                figures[name, "ttft"].append(first_chunk(client))
    finally:
        stop_odoo([server])
    print(f"gateway overhead, {args.calls} calls of each kind, alternately")
    print(f"{'':28} {'direct':>10} {'gateway':>10} {'overhead':>10} {'ratio':>7}")
    for kind, label in (("chat", "chat completion"), ("ttft", "stream, first chunk")):
        for fraction, name in ((0.5, "p50"), (0.9, "p90")):
            direct = percentile(figures["direct", kind], fraction)
            gateway = percentile(figures["gateway", kind], fraction)
            print(
                f"{label + ' ' + name + ' (ms)':28} {direct:10.1f} {gateway:10.1f}"
                f" {gateway - direct:10.1f} {gateway / direct:7.2f}"
            )
    expected = warm_calls + 2 * args.calls
    total, succeeded = logged(registry)
    ok = total == succeeded == expected
    print(f"{'ok' if ok else 'FAILED'}: {succeeded} of {expected} gateway calls logged")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
