#!/usr/bin/env bash
# Benchmark of the logging overhead (see scripts/bench_logging.py) on a fresh database.
set -euo pipefail
series=
case "${1:-}" in 18.0|19.0) series=$1; shift ;; esac
source "$(dirname "$0")/odoo_env.sh"
db=${AI_USAGE_BENCH_DB:-ai_usage_log_bench}
bench_on_fresh_db ai_usage_log bench_logging.py "$@"
