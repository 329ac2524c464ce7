#!/usr/bin/env bash
# Odoo's multi-process server (3 HTTP workers and a cron worker) under logged
# AI calls, on a fresh database: figures and checks (see scripts/bench_workers.py).
# Options: --clients N (6), --duration SECONDS (20), --hold SECONDS (4),
# --servers N (1): N servers of 3 workers on the database, the clients spread over them.
# Odoo 18.0 by default; ODOO_PYTHON=<19.0's python> for 19.0.
set -euo pipefail
series=
case "${1:-}" in 18.0|19.0) series=$1; shift ;; esac
source "$(dirname "$0")/odoo_env.sh"
db=${AI_USAGE_BENCH_DB:-ai_usage_log_bench_workers}
addons_path="$addons_path,$addon_dir/scripts/bench_addons"
bench_on_fresh_db ai_usage_bench bench_workers.py --odoo-bin "$odoo_src/odoo-bin" \
    --logfile "$(mktemp -t ai_usage_bench_workers.XXXXXX.log)" "$@"
