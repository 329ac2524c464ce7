# Shared by the scripts: finds the installed Odoo 18 and stages this add-on
# under its technical name so Odoo can load it whatever the checkout is called.
# shellcheck shell=bash
addon_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if ! python3 -c "import odoo" >/dev/null 2>&1; then
    echo "ERROR: 'python3 -c \"import odoo\"' fails: Odoo 18.0 must be installed for this python3." >&2
    echo "       ai_usage_log is an Odoo add-on and cannot be tested or served without it." >&2
    exit 2
fi
odoo_version=$(python3 -c "import odoo.release as r; print(r.major_version)")
if [ "$odoo_version" != "18.0" ]; then
    echo "ERROR: Odoo $odoo_version is installed; ai_usage_log needs Odoo 18.0." >&2
    exit 2
fi
odoo_src=$(python3 -c "import odoo, os; print(os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__))))")
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
    python3 "$odoo_src/odoo-bin" --addons-path="$addons_path" "$@"
}
