#!/usr/bin/env bash
# The clone path of scripts/setup.sh, as a newcomer without ODOO_SRC meets it:
# Odoo's source cloned from $ODOO_REPO (here a local git repository holding one
# commit of the installed Odoo's tree), and a plain failure when the repository
# cannot be reached. Needs the Odoo of $1 set up by setup.sh from a git checkout.
set -euo pipefail
addon_dir=$(cd "$(dirname "$0")/.." && pwd)
series=${1:?series}
home=${AI_USAGE_HOME:-$addon_dir/.ai_usage}
src=$(sed -n 's/^src=//p' "$home/venv-$series/.ai_usage_setup")
[ -n "$src" ] && git -C "$src" rev-parse HEAD > /dev/null 2>&1 \
    || { echo "FAILED: no git checkout of Odoo $series set up in $home" >&2; exit 1; }
work=$(mktemp -d -t ai_usage_log_setup.XXXXXX)
trap 'rm -rf "$work"' EXIT

# a repository with a branch $series: one commit of that tree, its objects borrowed
git init -q --bare "$work/odoo.git"
echo "$(cd "$src" && cd "$(git rev-parse --git-common-dir)" && pwd)/objects" > "$work/odoo.git/objects/info/alternates"
commit=$(git -C "$work/odoo.git" commit-tree -m "Odoo $series" "$(git -C "$src" rev-parse "HEAD^{tree}")")
git -C "$work/odoo.git" update-ref "refs/heads/$series" "$commit"

out=$(AI_USAGE_HOME="$work/home" ODOO_REPO="$work/odoo.git" bash "$addon_dir/scripts/setup.sh" "$series" --source-only 2>&1)
grep -q "Odoo source: cloned $work/odoo.git at $series" <<< "$out" && [ -f "$work/home/odoo-$series/odoo-bin" ] \
    || { echo "FAILED: setup did not clone Odoo from ODOO_REPO:" >&2; echo "$out" >&2; exit 1; }
echo "ok: setup $series cloned Odoo from ODOO_REPO (a local repository)"
out=$(AI_USAGE_HOME="$work/home" ODOO_REPO="$work/odoo.git" bash "$addon_dir/scripts/setup.sh" "$series" --source-only 2>&1)
grep -q "Odoo source: ok" <<< "$out" || { echo "FAILED: a second run cloned again:" >&2; echo "$out" >&2; exit 1; }
echo "ok: a second run keeps the clone"

if out=$(AI_USAGE_HOME="$work/nowhere" ODOO_REPO="$work/missing.git" bash "$addon_dir/scripts/setup.sh" "$series" 2>&1); then
    echo "FAILED: setup passed without an Odoo to be had:" >&2; echo "$out" >&2; exit 1
fi
grep -q "FAILED at 'Odoo source': cannot clone" <<< "$out" \
    || { echo "FAILED: no plain message when Odoo cannot be had:" >&2; echo "$out" >&2; exit 1; }
echo "ok: without Odoo to be had, setup stops with: $(grep -m1 "FAILED at" <<< "$out")"
