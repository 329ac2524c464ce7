# Shared by the scripts: sets up what is missing (scripts/setup.sh) for the Odoo
# series $series (set by the caller from its first argument, 18.0 or 19.0), or
# the series of $ODOO_PYTHON, or 18.0; then finds that Odoo and stages this add-on
# under its technical name so Odoo can load it whatever the checkout is called.
# Sets: odoo_python, odoo_version, odoo_src, addons_path, stage_dir, demo_args
# and no_demo_args (what makes an install load demo data, or not) and odoo_bin().
# Exports ODOO_PYTHON, so that the scripts it calls use the same interpreter.
# shellcheck shell=bash
addon_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${series:-}" ]; then
    series=18.0
    if [ -n "${ODOO_PYTHON:-}" ]; then
        series=$("$ODOO_PYTHON" -c "import odoo.release as r; print(r.major_version)" 2>/dev/null) || {
            echo "ERROR: '$ODOO_PYTHON -c \"import odoo\"' fails: no Odoo is installed for $ODOO_PYTHON." >&2
            echo "       Unset ODOO_PYTHON and name the series (18.0 or 19.0) to have one set up (scripts/setup.sh)." >&2
            exit 2
        }
    fi
fi
# once per series and run: the scripts that this one calls find it done
if [ "${AI_USAGE_SETUP_DONE:-}" != "$series" ]; then
    setup_out=$(bash "$addon_dir/scripts/setup.sh" "$series" | tee /dev/stderr) || exit $?
    ODOO_PYTHON=$(sed -n 's/^python: //p' <<< "$setup_out" | tail -1)
    export ODOO_PYTHON AI_USAGE_SETUP_DONE=$series
fi
odoo_python=$ODOO_PYTHON

odoo_version=$("$odoo_python" -c "import odoo.release as r; print(r.major_version)")
case "$odoo_version" in
    # 18.0 loads demo data unless told not to, 19.0 only when told to
    18.0) demo_args=() no_demo_args=(--without-demo=all) ;;
    19.0) demo_args=(--with-demo) no_demo_args=() ;;
    *)
        echo "ERROR: $odoo_python has Odoo $odoo_version; ai_usage_log supports 18.0 and 19.0." >&2
        exit 2
        ;;
esac
odoo_src=$("$odoo_python" -c "import odoo.release, os; print(os.path.dirname(os.path.dirname(os.path.abspath(odoo.release.__file__))))")
if [ ! -f "$odoo_src/odoo-bin" ]; then
    echo "ERROR: odoo-bin not found next to the odoo package ($odoo_src)." >&2
    exit 2
fi

if [ "$(basename "$addon_dir")" = "ai_usage_log" ]; then
    stage_dir=$(dirname "$addon_dir")
else
    stage_dir=$(mktemp -d -t ai_usage_log_addons.XXXXXX)
    ln -s "$addon_dir" "$stage_dir/ai_usage_log"
fi
addons_path="$odoo_src/addons,$odoo_src/odoo/addons,$stage_dir"

odoo_bin() {
    "$odoo_python" "$odoo_src/odoo-bin" --addons-path="$addons_path" "$@"
}

# A benchmark on a fresh database $db with the module $1 installed: runs
# scripts/$2 with --db, --addons-path and the other arguments given, then
# drops the database whatever the benchmark's outcome, which it returns.
bench_on_fresh_db() {
    local module=$1 script=$2 status=0
    shift 2
    dropdb --if-exists "$db" 2>/dev/null
    createdb "$db"
    odoo_bin -d "$db" -i "$module" "${no_demo_args[@]}" --stop-after-init --log-level=warn
    (cd "$addon_dir/scripts" && "$odoo_python" "$script" --db "$db" --addons-path "$addons_path" "$@") \
        || status=$?
    dropdb "$db"
    return "$status"
}
