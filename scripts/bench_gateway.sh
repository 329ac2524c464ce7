#!/usr/bin/env bash
# The gateway's overhead: the official openai SDK calling the fake provider
# directly, then through Odoo's /ai_usage/v1 (a real Odoo server, 2 HTTP
# workers), alternately in the same run; prints p50/p90 and their ratio
# (see scripts/bench_gateway.py). Options: --calls N (200).
# Odoo 18.0 by default; name the series (18.0 or 19.0) first for another.
set -euo pipefail
series=
case "${1:-}" in 18.0|19.0) series=$1; shift ;; esac
source "$(dirname "$0")/odoo_env.sh"
db=${AI_USAGE_BENCH_DB:-ai_usage_log_bench_gateway}
bench_on_fresh_db ai_usage_log bench_gateway.py --odoo-bin "$odoo_src/odoo-bin" \
    --logfile "$(mktemp -t ai_usage_bench_gateway.XXXXXX.log)" "$@"
