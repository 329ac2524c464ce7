#!/usr/bin/env bash
# Installs the add-on the way integrators do: its wheel, built for the Odoo of
# $ODOO_PYTHON, into a clean virtual environment that sees that Odoo, then
# `odoo-bin -i ai_usage_log` on a fresh database with an addons path that
# does not point at this checkout. Fails unless the module installs from the
# wheel. Called by run_tests.sh.
set -euo pipefail
source "$(dirname "$0")/odoo_env.sh"
db=${1:?database name}

work=$(mktemp -d -t ai_usage_log_wheelcheck.XXXXXX)
trap 'rm -rf "$work"; dropdb --if-exists "$db" 2>/dev/null || true' EXIT
wheel=$(PYTHON="$odoo_python" bash "$addon_dir/scripts/build_wheel.sh" "$odoo_version" "$work/dist" | tail -1)
echo "ok: built $(basename "$wheel")"

# A new virtual environment of the same interpreter, with Odoo's own
# site-packages added as a site directory (so its .pth files, such as an
# editable Odoo's, are read) and nothing of this checkout.
"$odoo_python" -m venv "$work/venv"
venv_python="$work/venv/bin/python"
odoo_site=$("$odoo_python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
venv_site=$("$venv_python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "import site; site.addsitedir('$odoo_site')" > "$venv_site/odoo_site.pth"
"$venv_python" -m pip install -q "$wheel" 2>&1 \
    | grep -v -e "Running pip as the 'root' user" -e "is ignored: it is neither" || true
installed="$venv_site/odoo/addons/ai_usage_log"
[ -f "$installed/__manifest__.py" ] || { echo "FAILED: the wheel did not install $installed" >&2; exit 1; }
for absent in scripts .ci; do
    [ ! -e "$installed/$absent" ] || { echo "FAILED: the wheel ships $absent/" >&2; exit 1; }
done
echo "ok: pip installed the add-on in $installed, without scripts/ and .ci/"

dropdb --if-exists "$db"
createdb "$db"
"$venv_python" "$odoo_src/odoo-bin" -d "$db" --addons-path="$odoo_src/addons,$odoo_src/odoo/addons" \
    -i ai_usage_log "${no_demo_args[@]}" --stop-after-init --log-level=warn > "$work/install.log" 2>&1 \
    || { cat "$work/install.log" >&2; exit 1; }
state=$(psql -tAq -d "$db" -c "SELECT state FROM ir_module_module WHERE name = 'ai_usage_log'")
[ "$state" = "installed" ] || { echo "FAILED: ai_usage_log is '$state' after -i from the wheel" >&2; exit 1; }
loaded=$(echo "import odoo.modules.module as m; print(m.get_module_path('ai_usage_log'))" \
    | "$venv_python" "$odoo_src/odoo-bin" shell -d "$db" --addons-path="$odoo_src/addons,$odoo_src/odoo/addons" \
      --log-level=error 2>/dev/null | tail -1)
[ "$loaded" = "$installed" ] || { echo "FAILED: Odoo loads ai_usage_log from '$loaded', not the wheel" >&2; exit 1; }
echo "ok: odoo-bin -i ai_usage_log installed it from the wheel"
