#!/usr/bin/env bash
# Serves Odoo with ai_usage_log and its demo data (demo services, budgets and a
# few hundred logs over six weeks), setting up first what is missing
# (scripts/setup.sh). Prints "Ready: http://localhost:PORT (admin / admin)" once
# the server answers; menu "AI Usage".
# Usage: scripts/serve_demo.sh [18.0|19.0] [--reset] [--port PORT] [odoo-bin options]
#   --reset     start again from a new demo database (else an existing one is kept)
#   --port      the HTTP port (default $PORT, else 8069)
# Database: $AI_USAGE_DEMO_DB (default ai_usage_log_demo_18 / ai_usage_log_demo_19).
set -euo pipefail
series=
case "${1:-}" in 18.0|19.0) series=$1; shift ;; esac
reset=
port=${PORT:-8069}
odoo_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --reset) reset=1 ;;
        --port) port=${2:?--port takes a number}; shift ;;
        --port=*) port=${1#--port=} ;;
        *) odoo_args+=("$1") ;;
    esac
    shift
done
source "$(dirname "$0")/odoo_env.sh"

db=${AI_USAGE_DEMO_DB:-ai_usage_log_demo_${odoo_version%%.*}}
if [ -n "$reset" ]; then
    dropdb --if-exists "$db"
fi
init=()
if ! psql -d "$db" -tAc "SELECT 1 FROM ir_module_module WHERE name = 'ai_usage_log' AND state = 'installed'" 2>/dev/null | grep -q 1; then
    dropdb --if-exists "$db"
    createdb "$db"
    echo "serve_demo: a new demo database $db (installing takes a minute)"
    init=(-i ai_usage_log "${demo_args[@]}")
else
    echo "serve_demo: keeping the demo database $db, the add-on upgraded (--reset starts again)"
    # the code may have changed since: its views, fields and data follow it
    init=(-u ai_usage_log)
fi

# "Ready" once the login page answers, the first request (asset bundles) included
(
    for _ in $(seq 600); do
        if python3 -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/web/login', timeout=60)" 2>/dev/null; then
            echo "Ready: http://localhost:$port (admin / admin), database $db"
            exit 0
        fi
        sleep 1
    done
    echo "serve_demo: the server did not answer on port $port within 10 minutes" >&2
) &
exec "$odoo_python" "$odoo_src/odoo-bin" --addons-path="$addons_path" -d "$db" --db-filter="^${db}\$" \
    "${init[@]}" --http-port="$port" "${odoo_args[@]}"
