#!/usr/bin/env bash
# Runs the whole ai_usage_log test suite inside a real Odoo (18.0 or 19.0) on PostgreSQL:
#   1. install, upgrade and uninstall on an existing database (with demo data),
#      failing on any warning or error that names the module;
#   2. on 18.0, an upgrade from release 1.0 (an 18.0-only release);
#   3. the pip wheel of this Odoo's series, installed into a clean virtual
#      environment, then `odoo-bin -i ai_usage_log` from it (scripts/check_wheel.sh);
#   4. every test under Odoo's own runner (odoo-bin --test-enable), then under
#      pytest-odoo, each on a fresh database with the add-on installed; both
#      must count the same tests (arguments, if any, go to pytest alone).
# Needs Odoo importable by $ODOO_PYTHON (default python3) and a PostgreSQL server
# the current user may create databases on. Database names: $AI_USAGE_TEST_DB
# (default ai_usage_log_test).
set -euo pipefail
series=
case "${1:-}" in 18.0|19.0) series=$1; shift ;; esac
source "$(dirname "$0")/odoo_env.sh"

db=${AI_USAGE_TEST_DB:-ai_usage_log_test}
logs=$(mktemp -d -t ai_usage_log_logs.XXXXXX)

check_log() {  # $1: step, $2: log file
    if grep -E " (WARNING|ERROR|CRITICAL) " "$2" | grep -v "Running as user 'root'" | grep -q "ai_usage_log"; then
        echo "FAILED: $1 printed warnings or errors about ai_usage_log:" >&2
        grep -E " (WARNING|ERROR|CRITICAL) " "$2" | grep "ai_usage_log" >&2
        exit 1
    fi
    # a deprecation Odoo reports while loading the add-on, wherever it points
    local deprecated="DeprecationWarning|is deprecated|deprecated alias|no longer supported"
    if grep -Eiq "$deprecated" "$2"; then
        echo "FAILED: $1 printed deprecation warnings:" >&2
        grep -Ei "$deprecated" "$2" >&2
        exit 1
    fi
    echo "ok: $1 (no warning, error or deprecation)"
}

echo "== Odoo $odoo_version ($odoo_python)"
echo "== lifecycle: install, upgrade, uninstall on an existing database"
dropdb --if-exists "${db}_lifecycle"
createdb "${db}_lifecycle"
odoo_bin -d "${db}_lifecycle" -i base,mail "${demo_args[@]}" --stop-after-init --log-level=warn > "$logs/base.log" 2>&1
odoo_bin -d "${db}_lifecycle" -i ai_usage_log "${demo_args[@]}" --stop-after-init --log-level=info > "$logs/install.log" 2>&1
check_log "install with demo data" "$logs/install.log"
demo_logs=$(psql -tAq -d "${db}_lifecycle" -c "SELECT count(*) FROM ai_usage_log")
[ "$demo_logs" -ge 300 ] || { echo "FAILED: demo data made $demo_logs logs" >&2; exit 1; }
echo "ok: demo data has $demo_logs logs"
demo_today=$(psql -tAq -d "${db}_lifecycle" -c "SELECT count(DISTINCT provider) FROM ai_usage_log
    WHERE request_time >= date_trunc('day', now() AT TIME ZONE 'UTC')")
[ "$demo_today" -ge 3 ] || { echo "FAILED: demo data has calls today from $demo_today providers" >&2; exit 1; }
echo "ok: demo data has calls today, from $demo_today providers"
demo_employee=$(psql -tAq -d "${db}_lifecycle" -c "SELECT count(*) FROM res_groups_users_rel r
    JOIN res_users u ON u.id = r.uid JOIN ir_model_data d ON d.res_id = r.gid AND d.model = 'res.groups'
    WHERE u.login = 'demo' AND d.module = 'ai_usage_log' AND d.name = 'group_ai_usage_user'")
[ "$demo_employee" = 1 ] || { echo "FAILED: the demo employee is not an AI Usage user" >&2; exit 1; }
echo "ok: the demo employee is an AI Usage user"
# What an upgrade must leave as it was: the add-on's xml ids, its groups,
# privileges (19.0), record rules, menus and prices with their key fields.
snapshot() {
    psql -tAq -d "${db}_lifecycle" -c "
        SELECT 'xmlid ' || module || '.' || name || ' ' || model FROM ir_model_data WHERE module = 'ai_usage_log'
            AND model NOT LIKE 'ir.model%'  -- the registry's reflection, which other modules' mixins shape
        UNION ALL SELECT 'group ' || g.id || ' ' || (g.name::text) FROM res_groups g
            JOIN ir_model_data d ON d.model = 'res.groups' AND d.res_id = g.id AND d.module = 'ai_usage_log'
        UNION ALL SELECT 'rule ' || r.name || ' ' || coalesce(r.domain_force, '') FROM ir_rule r
            JOIN ir_model_data d ON d.model = 'ir.rule' AND d.res_id = r.id AND d.module = 'ai_usage_log'
        UNION ALL SELECT 'menu ' || m.id || ' ' || (m.name::text) || ' ' || coalesce(m.action, '') FROM ir_ui_menu m
            JOIN ir_model_data d ON d.model = 'ir.ui.menu' AND d.res_id = m.id AND d.module = 'ai_usage_log'
        UNION ALL SELECT 'price ' || id || ' ' || model_name || ' ' || price_provider || ' ' || date_from || ' '
            || price_tier || ' ' || match_type || ' ' || input_price || ' ' || output_price FROM ai_model_price
        ORDER BY 1" > "$1"
}
snapshot "$logs/installed.txt"
for round in 1 2; do
    odoo_bin -d "${db}_lifecycle" -u ai_usage_log --stop-after-init --log-level=info > "$logs/upgrade.log" 2>&1
    check_log "upgrade $round" "$logs/upgrade.log"
    snapshot "$logs/upgraded_$round.txt"
    if ! diff "$logs/installed.txt" "$logs/upgraded_$round.txt" > "$logs/upgrade_diff.txt"; then
        echo "FAILED: upgrade $round changed the add-on's records (< installed, > upgraded):" >&2
        cat "$logs/upgrade_diff.txt" >&2
        exit 1
    fi
    echo "ok: upgrade $round left the same xml ids, groups, rules, menus and prices ($(wc -l < "$logs/installed.txt") rows)"
done
echo "env['ir.module.module'].search([('name', '=', 'ai_usage_log')]).button_immediate_uninstall(); env.cr.commit()" \
    | odoo_bin shell -d "${db}_lifecycle" --log-level=info > "$logs/uninstall.log" 2>&1
check_log "uninstall" "$logs/uninstall.log"
state=$(psql -tAq -d "${db}_lifecycle" -c "SELECT state FROM ir_module_module WHERE name = 'ai_usage_log'")
tables=$(psql -tAq -d "${db}_lifecycle" -c "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'ai\_%'")
[ "$state" = "uninstalled" ] && [ "$tables" = "0" ] || { echo "FAILED: after uninstall: state=$state, ai_ tables=$tables" >&2; exit 1; }
echo "ok: uninstalled, its tables dropped"
dropdb "${db}_lifecycle"

if [ "$odoo_version" = "18.0" ]; then
echo "== upgrade from 1.0, the last release, with an administrator's price edit"
# The tree of 1.0 is the parent of the commit that made the version 1.1.0.
first_11=$(cd "$addon_dir" && git log --format=%H --reverse -G'"version": "18.0.1.1.0"' -- __manifest__.py | awk 'NR == 1')
[ -n "$first_11" ] || { echo "FAILED: no git history to find release 1.0 in (a shallow clone?)" >&2; exit 1; }
old_stage=$(mktemp -d -t ai_usage_log_1_0.XXXXXX)
mkdir "$old_stage/ai_usage_log"
(cd "$addon_dir" && git archive "$first_11^") | tar -x -C "$old_stage/ai_usage_log"
grep -q '"version": "18.0.1.0.0"' "$old_stage/ai_usage_log/__manifest__.py" \
    || { echo "FAILED: $first_11^ is not version 1.0.0" >&2; exit 1; }
old_addons_path="$odoo_src/addons,$odoo_src/odoo/addons,$old_stage"
dropdb --if-exists "${db}_upgrade"
createdb "${db}_upgrade"
"$odoo_python" "$odoo_src/odoo-bin" --addons-path="$old_addons_path" -d "${db}_upgrade" -i ai_usage_log \
    --stop-after-init --log-level=warn > "$logs/install_1_0.log" 2>&1 \
    || { cat "$logs/install_1_0.log" >&2; exit 1; }
q() { psql -tAq -d "${db}_upgrade" -c "$1"; }
price_of() {  # $1: xml id of a shipped price; prints input price, date, match type
    q "SELECT input_price || ' ' || date_from || ' ' || match_type FROM ai_model_price
        WHERE id = (SELECT res_id FROM ir_model_data WHERE module = 'ai_usage_log' AND name = '$1')"
}
# an administrator's negotiated price, edited after the install
q "UPDATE ai_model_price SET input_price = 0.1, write_date = now() AT TIME ZONE 'UTC' + interval '1 hour'
    WHERE id = (SELECT res_id FROM ir_model_data WHERE module = 'ai_usage_log' AND name = 'price_gpt_4o_mini')"
logs_before=$(q "SELECT count(*) || ' ' || round(sum(cost)::numeric, 6) FROM ai_usage_log")
odoo_bin -d "${db}_upgrade" -u ai_usage_log --stop-after-init --log-level=info > "$logs/upgrade_1_0.log" 2>&1
check_log "upgrade 1.0 -> $(python3 -c "import ast; print(ast.literal_eval(open('$addon_dir/__manifest__.py').read())['version'])")" "$logs/upgrade_1_0.log"
grep -qE "module ai_usage_log: Running migration .*1\.1\.0.* post-migration" "$logs/upgrade_1_0.log" \
    || { echo "FAILED: the 1.1 migration did not run" >&2; exit 1; }
expect() {  # $1: what, $2: got, $3: wanted
    [ "$2" = "$3" ] || { echo "FAILED: after the upgrade, $1 is '$2', not '$3'" >&2; exit 1; }
    echo "ok: $1: $2"
}
expect "logs and their cost" "$(q "SELECT count(*) || ' ' || round(sum(cost)::numeric, 6) FROM ai_usage_log")" "$logs_before"
expect "edited gpt-4o-mini price" "$(price_of price_gpt_4o_mini)" "0.1 2024-01-01 exact"
expect "o3 price before its cut, from the catalogue" "$(price_of price_o3)" "10.0 2020-01-01 exact"
expect "o3 price from 2025-06-10" \
    "$(q "SELECT input_price::float8 FROM ai_model_price WHERE model_name = 'o3' AND price_tier = 'standard' AND date_from = '2025-06-10'")" "2"
expect "priced logs without a price tier" \
    "$(q "SELECT count(*) FROM ai_usage_log WHERE usage_state = 'reported' AND price_tier IS NULL")" "0"
expect "prices matching by prefix" "$(q "SELECT count(*) FROM ai_model_price WHERE match_type = 'prefix'")" "0"
dropdb "${db}_upgrade"
rm -rf "$old_stage"
fi

echo "== pip: the wheel, installed into a clean virtual environment, then -i from it"
bash "$addon_dir/scripts/check_wheel.sh" "${db}_wheel"

# the capture tests' module that calls AI providers its own way (tests/test_capture.py),
# installed beside the add-on, and alone in a database without the add-on
test_addons_path="$addons_path,$addon_dir/scripts/test_addons"
export AI_USAGE_DB_WITHOUT_ADDON="${db}_without_addon"
dropdb --if-exists "$AI_USAGE_DB_WITHOUT_ADDON"
createdb "$AI_USAGE_DB_WITHOUT_ADDON"
"$odoo_python" "$odoo_src/odoo-bin" --addons-path="$test_addons_path" -d "$AI_USAGE_DB_WITHOUT_ADDON" \
    -i ai_capture_probe "${no_demo_args[@]}" --stop-after-init --log-level=warn > "$logs/install_without.log" 2>&1 \
    || { cat "$logs/install_without.log" >&2; exit 1; }

free_port() { "$odoo_python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
fresh_db() {  # $1: name; the add-on installed without demo data
    dropdb --if-exists "$1"
    createdb "$1"
    "$odoo_python" "$odoo_src/odoo-bin" --addons-path="$test_addons_path" -d "$1" -i ai_usage_log,ai_capture_probe \
        "${no_demo_args[@]}" --stop-after-init --log-level=warn > "$logs/install_$1.log" 2>&1 \
        || { cat "$logs/install_$1.log" >&2; exit 1; }
}

if [ $# -eq 0 ]; then
echo "== tests under Odoo's own runner (odoo-bin --test-enable)"
fresh_db "${db}_runner"
"$odoo_python" "$odoo_src/odoo-bin" --addons-path="$test_addons_path" -d "${db}_runner" \
    --test-enable --test-tags /ai_usage_log --stop-after-init \
    --http-port="$(free_port)" --log-level=test > "$logs/runner.log" 2>&1 || true
runner=$(grep -oE "[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests" "$logs/runner.log" | tail -1)
if [ -z "$runner" ] || [ "${runner%% *}" != 0 ] || ! grep -q " 0 error(s)" <<< "$runner"; then
    echo "FAILED: Odoo's runner: ${runner:-no result}" >&2
    grep -E "(ERROR|FAIL):" -A30 "$logs/runner.log" | head -200 >&2
    exit 1
fi
runner_tests=$(grep -oE "of [0-9]+ tests" <<< "$runner" | grep -oE "[0-9]+")
echo "ok: Odoo's runner: $runner"
dropdb "${db}_runner"
fi

echo "== tests (pytest-odoo)"
fresh_db "$db"
cd "$stage_dir/ai_usage_log"
status=0
"$odoo_python" -m pytest -p no:cacheprovider \
    --odoo-database="$db" --odoo-addons-path="$test_addons_path" --odoo-http \
    "$stage_dir/ai_usage_log/tests" "$@" | tee "$logs/pytest.log" || status=$?
if [ -n "${runner_tests:-}" ]; then
    # every test counted once by each runner (subtests aside)
    summary=$(grep -E "^=+ .* in [0-9.]+s" "$logs/pytest.log" | tail -1)
    pytest_tests=$("$odoo_python" -c "import re, sys
print(sum(int(n) for n, kind in re.findall(r'(\d+) (subtests \w+|passed|failed|skipped|errors?|xfailed|xpassed)\b', sys.argv[1])
          if not kind.startswith('subtests')))" "$summary")
    if [ "$pytest_tests" != "$runner_tests" ]; then
        echo "FAILED: pytest-odoo ran $pytest_tests tests, Odoo's runner $runner_tests" >&2
        exit 1
    fi
    echo "ok: both runners ran the same $pytest_tests tests"
fi
dropdb --if-exists "$AI_USAGE_DB_WITHOUT_ADDON"
exit "$status"
