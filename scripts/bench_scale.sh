#!/usr/bin/env bash
# Scale benchmark (see scripts/bench_scale.py) on a fresh database.
# Usage: bash scripts/bench_scale.sh [18.0|19.0] [--rows N] [--repeat N]
#   BENCH_SCRIPT=bench_export.py: the export benchmark on the same kind of database
#   AI_USAGE_BENCH_KEEP=1: keep the filled database, then measure its reads
#   again with --reads-only (no new fill)
set -euo pipefail
series=
case "${1:-}" in 18.0|19.0) series=$1; shift ;; esac
source "$(dirname "$0")/odoo_env.sh"
db=${AI_USAGE_BENCH_DB:-ai_usage_log_scale}
if [[ " $* " != *" --reads-only "* ]]; then
    dropdb --if-exists "$db" 2>/dev/null
    createdb "$db"
    odoo_bin -d "$db" -i ai_usage_log "${no_demo_args[@]}" --stop-after-init --log-level=warn
fi
"$odoo_python" "$addon_dir/scripts/${BENCH_SCRIPT:-bench_scale.py}" --db "$db" --addons-path "$addons_path" "$@"
# a database measured again (--reads-only) is the one kept: never dropped
if [ -z "${AI_USAGE_BENCH_KEEP:-}" ] && [[ " $* " != *" --reads-only "* ]]; then
    dropdb "$db"
fi
