# Shared by the scripts: finds the installed Odoo (18.0 or 19.0) of the
# Python interpreter $ODOO_PYTHON (default: python3) and stages this add-on
# under its technical name so Odoo can load it whatever the checkout is called.
# Sets: odoo_python, odoo_version, odoo_src, addons_path, stage_dir, demo_args
# and no_demo_args (what makes an install load demo data, or not) and odoo_bin().
# shellcheck shell=bash
addon_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
odoo_python=${ODOO_PYTHON:-python3}

if ! "$odoo_python" -c "import odoo" >/dev/null 2>&1; then
    echo "ERROR: '$odoo_python -c \"import odoo\"' fails: no Odoo is installed for $odoo_python." >&2
    echo "       ai_usage_log is an Odoo 18.0 / 19.0 add-on and cannot be tested or served without it" >&2
    echo "       (README.md, Installation, says how to install each)." >&2
    exit 2
fi
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
