#!/usr/bin/env bash
# Builds the wheel odoo-addon-ai_usage_log for one Odoo series.
# Usage: bash scripts/build_wheel.sh 18.0|19.0 OUTPUT_DIR
# The add-on is staged under its technical name (whool names the add-on after
# its directory) with the tracked files only, less scripts/ and .ci/ (tools of
# this repository, not of the add-on), then built by pip with whool.
set -euo pipefail
series=${1:?Odoo series: 18.0 or 19.0}
out=${2:?output directory}
case "$series" in 18.0|19.0) ;; *) echo "ERROR: series 18.0 or 19.0, not $series" >&2; exit 2 ;; esac
addon_dir=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}

stage=$(mktemp -d -t ai_usage_log_wheel.XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/ai_usage_log"
(cd "$addon_dir" && git ls-files -z --cached --others --exclude-standard | grep -zv -e '^scripts/' -e '^\.ci/' \
    | xargs -0 cp --parents -t "$stage/ai_usage_log")
sed -i "s/^odoo_series_override = .*/odoo_series_override = \"$series\"/" \
    "$stage/ai_usage_log/pyproject.toml"
mkdir -p "$out"
"$python" -m pip wheel -q --no-deps -w "$out" "$stage/ai_usage_log"
ls "$out"/odoo_addon_ai_usage_log-*.whl
