#!/usr/bin/env bash
# Benchmark of the logging overhead (see scripts/bench_logging.py) on a fresh database.
set -euo pipefail
series=
case "${1:-}" in 18.0|19.0) series=$1; shift ;; esac
source "$(dirname "$0")/odoo_env.sh"
db=${AI_USAGE_BENCH_DB:-ai_usage_log_bench}
dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
odoo_bin -d "$db" -i ai_usage_log "${no_demo_args[@]}" --stop-after-init --log-level=warn
"$odoo_python" "$addon_dir/scripts/bench_logging.py" --db "$db" --addons-path "$addons_path" "$@"
dropdb "$db"
