#!/usr/bin/env bash
# Serves Odoo with ai_usage_log on a fresh demo database (a demo service and a
# few hundred logs over six weeks). Open http://localhost:8069, log in as
# admin / admin, menu "AI Usage". Odoo 18.0 by default (python3); for 19.0:
#   ODOO_PYTHON=/opt/odoo/venv19/bin/python bash scripts/serve_demo.sh
# Database: $AI_USAGE_DEMO_DB (default ai_usage_log_demo_<version>).
set -euo pipefail
source "$(dirname "$0")/odoo_env.sh"

db=${AI_USAGE_DEMO_DB:-ai_usage_log_demo_${odoo_version%%.*}}
dropdb --if-exists "$db"
createdb "$db"
exec "$odoo_python" "$odoo_src/odoo-bin" --addons-path="$addons_path" -d "$db" --db-filter="^${db}\$" \
    -i ai_usage_log "${demo_args[@]}" --http-port="${PORT:-8069}" "$@"
