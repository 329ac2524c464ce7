#!/usr/bin/env bash
# Scale benchmark (see scripts/bench_scale.py) on a fresh database.
# Usage: bash scripts/bench_scale.sh [--rows N] [--repeat N]
#   BENCH_SCRIPT=bench_export.py: the export benchmark on the same kind of database
set -euo pipefail
series=
case "${1:-}" in 18.0|19.0) series=$1; shift ;; esac
source "$(dirname "$0")/odoo_env.sh"
db=${AI_USAGE_BENCH_DB:-ai_usage_log_scale}
dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
odoo_bin -d "$db" -i ai_usage_log "${no_demo_args[@]}" --stop-after-init --log-level=warn
"$odoo_python" "$addon_dir/scripts/${BENCH_SCRIPT:-bench_scale.py}" --db "$db" --addons-path "$addons_path" "$@"
dropdb "$db"
