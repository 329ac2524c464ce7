#!/usr/bin/env bash
# Runs the whole ai_usage_log test suite inside a real Odoo 18 on PostgreSQL:
#   1. install, upgrade and uninstall on an existing database (with demo data),
#      failing on any warning or error that names the module;
#   2. every test (pytest-odoo) on a fresh database with the add-on installed.
# Needs Odoo 18.0 importable by python3 and a PostgreSQL server the current
# user may create databases on. Database names: $AI_USAGE_TEST_DB (default ai_usage_log_test).
set -euo pipefail
source "$(dirname "$0")/odoo_env.sh"

db=${AI_USAGE_TEST_DB:-ai_usage_log_test}
logs=$(mktemp -d -t ai_usage_log_logs.XXXXXX)

check_log() {  # $1: step, $2: log file
    if grep -E " (WARNING|ERROR|CRITICAL) " "$2" | grep -v "Running as user 'root'" | grep -q "ai_usage_log"; then
        echo "FAILED: $1 printed warnings or errors about ai_usage_log:" >&2
        grep -E " (WARNING|ERROR|CRITICAL) " "$2" | grep "ai_usage_log" >&2
        exit 1
    fi
    echo "ok: $1"
}

echo "== lifecycle: install, upgrade, uninstall on an existing database"
dropdb --if-exists "${db}_lifecycle"
createdb "${db}_lifecycle"
odoo_bin -d "${db}_lifecycle" -i base,mail --stop-after-init --log-level=warn > "$logs/base.log" 2>&1
odoo_bin -d "${db}_lifecycle" -i ai_usage_log --stop-after-init --log-level=info > "$logs/install.log" 2>&1
check_log "install with demo data" "$logs/install.log"
demo_logs=$(psql -tAq -d "${db}_lifecycle" -c "SELECT count(*) FROM ai_usage_log")
[ "$demo_logs" -ge 300 ] || { echo "FAILED: demo data made $demo_logs logs" >&2; exit 1; }
echo "ok: demo data has $demo_logs logs"
odoo_bin -d "${db}_lifecycle" -u ai_usage_log --stop-after-init --log-level=info > "$logs/upgrade.log" 2>&1
check_log "upgrade" "$logs/upgrade.log"
echo "env['ir.module.module'].search([('name', '=', 'ai_usage_log')]).button_immediate_uninstall(); env.cr.commit()" \
    | odoo_bin shell -d "${db}_lifecycle" --log-level=info > "$logs/uninstall.log" 2>&1
check_log "uninstall" "$logs/uninstall.log"
state=$(psql -tAq -d "${db}_lifecycle" -c "SELECT state FROM ir_module_module WHERE name = 'ai_usage_log'")
tables=$(psql -tAq -d "${db}_lifecycle" -c "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'ai\_%'")
[ "$state" = "uninstalled" ] && [ "$tables" = "0" ] || { echo "FAILED: after uninstall: state=$state, ai_ tables=$tables" >&2; exit 1; }
echo "ok: uninstalled, its tables dropped"
dropdb "${db}_lifecycle"

echo "== tests"
dropdb --if-exists "$db"
createdb "$db"
odoo_bin -d "$db" -i ai_usage_log --without-demo=all --stop-after-init --log-level=warn > "$logs/test_install.log" 2>&1 \
    || { cat "$logs/test_install.log" >&2; exit 1; }
cd "$stage_dir/ai_usage_log"
python3 -m pytest -p no:cacheprovider \
    --odoo-database="$db" --odoo-addons-path="$addons_path" --odoo-http \
    "$stage_dir/ai_usage_log/tests" "$@"
