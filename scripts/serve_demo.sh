#!/usr/bin/env bash
# Serves Odoo 18 with ai_usage_log on a fresh demo database (a demo service
# and a few hundred logs over six weeks). Open http://localhost:8069, log in
# as admin / admin, menu "AI Usage". Database: $AI_USAGE_DEMO_DB (default ai_usage_log_demo).
set -euo pipefail
source "$(dirname "$0")/odoo_env.sh"

db=${AI_USAGE_DEMO_DB:-ai_usage_log_demo}
dropdb --if-exists "$db"
createdb "$db"
exec python3 "$odoo_src/odoo-bin" --addons-path="$addons_path" -d "$db" --db-filter="^${db}\$" \
    -i ai_usage_log --http-port="${PORT:-8069}" "$@"
