#!/usr/bin/env bash
# Sets up, idempotently, what ai_usage_log needs to be served or tested on Odoo
# 18.0 or 19.0, on Debian or Ubuntu:
#   1. system packages: PostgreSQL, the libraries Odoo's requirements build
#      against, git, Chromium (the browser tests);
#   2. PostgreSQL started, with a role for the current user;
#   3. Odoo's source: $ODOO_SRC (a checkout) when given, else a shallow clone of
#      $ODOO_REPO at $ODOO_REF (default: Odoo's official repository, the series
#      branch) into $AI_USAGE_HOME/odoo-SERIES;
#   4. a virtual environment $AI_USAGE_HOME/venv-SERIES with Odoo's requirements
#      (built with the constraints they need), Odoo itself (editable), this
#      add-on's dependencies and its test dependencies.
# An interpreter that already imports Odoo of the series ($ODOO_PYTHON) is used as
# it is: only its test dependencies are added. A second run changes nothing and
# takes seconds. $AI_USAGE_HOME defaults to .ai_usage/ in this checkout (git-ignored).
# Usage: scripts/setup.sh [18.0|19.0] [--source-only]. The last line printed names
# the interpreter (with --source-only, which stops once Odoo's source is there: the
# source).
set -euo pipefail
addon_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
series=${1:-18.0}
source_only=${2:-}
case "$series" in 18.0|19.0) ;; *) echo "setup: unknown series '$series' (18.0 or 19.0)" >&2; exit 2 ;; esac
home=${AI_USAGE_HOME:-$addon_dir/.ai_usage}
odoo_repo=${ODOO_REPO:-https://github.com/odoo/odoo.git}
odoo_ref=${ODOO_REF:-$series}
changed=0

step_started=0
step() { step_name=$1; step_started=$SECONDS; }
done_step() {  # $1: what was done ("ok" when nothing had to be)
    echo "setup $series: $step_name: $1 ($((SECONDS - step_started)) s)"
    [ "$1" = "ok" ] || changed=$((changed + 1))
}
fail() {  # $1: what went wrong, $2: what to do
    echo "setup $series: FAILED at '$step_name': $1" >&2
    echo "setup $series: $2" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo > /dev/null && sudo -n true 2> /dev/null; then sudo "$@"
    else return 3
    fi
}

# -- 1. system packages
step "system packages"
packages=(git gcc libldap2-dev libsasl2-dev libpq-dev python3-dev python3-venv postgresql postgresql-client chromium)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2> /dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get > /dev/null \
        || fail "no apt-get: this script knows Debian and Ubuntu only" \
            "install these packages (or their equivalents) yourself, then run it again: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Ubuntu ships Chromium as a snap; its apt package then is only a stub, so the
    # browser tests find no usable chromium: say so rather than install the stub.
    if [ -f /etc/lsb-release ] && grep -qi ubuntu /etc/lsb-release; then
        mapfile -t missing < <(printf '%s\n' "${missing[@]}" | grep -vx chromium)
        command -v chromium > /dev/null || command -v chromium-browser > /dev/null \
            || echo "setup $series: note: install Chromium (snap install chromium) for the browser tests" >&2
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        as_root apt-get update -qq > /dev/null 2>&1 \
            || fail "cannot run apt-get update as root (no root, no passwordless sudo, or no network)" \
                "run as root, or have an administrator run: apt-get install ${missing[*]}"
        as_root apt-get install -y -qq "${missing[@]}" > /dev/null 2>&1 \
            || fail "apt-get install ${missing[*]} failed" "see apt-get's message above"
        done_step "installed ${missing[*]}"
    fi
else
    done_step ok
fi

# -- 2. PostgreSQL
step "PostgreSQL"
did=
if command -v pg_lsclusters > /dev/null; then
    if [ -z "$(pg_lsclusters -h)" ]; then
        version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n | tail -1)
        as_root pg_createcluster "$version" main > /dev/null || fail "cannot create a cluster" "run as root"
        did="cluster $version created"
    fi
    if ! pg_lsclusters -h | awk '$4 == "online"' | grep -q .; then
        read -r version cluster _ < <(pg_lsclusters -h | head -1)
        as_root pg_ctlcluster "$version" "$cluster" start || fail "cannot start PostgreSQL $version/$cluster" \
            "see /var/log/postgresql/postgresql-$version-$cluster.log"
        did="${did:+$did, }started $version/$cluster"
    fi
fi
for _ in $(seq 30); do pg_isready -q && break; sleep 1; done
pg_isready -q || fail "PostgreSQL does not answer" "start it (pg_ctlcluster VERSION main start)"
me=$(id -un)
if ! psql -d postgres -tAc "SELECT 1" > /dev/null 2>&1; then
    as_root su postgres -c "createuser --superuser '$me'" \
        || fail "cannot create the PostgreSQL role $me" "run: sudo -u postgres createuser --superuser $me"
    did="${did:+$did, }role $me created"
fi
done_step "${did:-ok}"

# -- 3. the interpreter: $ODOO_PYTHON as it is, else a virtual environment
series_of() { "$1" -c "import odoo.release as r; print(r.major_version)" 2> /dev/null || true; }
if [ -n "${ODOO_PYTHON:-}" ]; then
    step "Odoo"
    got=$(series_of "$ODOO_PYTHON")
    [ "$got" = "$series" ] || fail "ODOO_PYTHON=$ODOO_PYTHON does not import Odoo $series (${got:-no Odoo})" \
        "unset ODOO_PYTHON to have a virtual environment made, or name an interpreter with Odoo $series"
    python=$ODOO_PYTHON
    done_step ok
else
    venv=$home/venv-$series
    python=$venv/bin/python
    mkdir -p "$home"

    step "Odoo source"
    # the source a previous run installed from, when none is named now
    previous=$(sed -n 's/^src=//p' "$venv/.ai_usage_setup" 2> /dev/null || true)
    if [ -z "${ODOO_SRC:-}" ] && [ -n "$previous" ] && [ -f "$previous/odoo-bin" ]; then
        src=$previous
        done_step ok
    elif [ -n "${ODOO_SRC:-}" ]; then
        src=$(cd "$ODOO_SRC" 2> /dev/null && pwd) || fail "ODOO_SRC=$ODOO_SRC is not a folder" "name an Odoo $series checkout"
        done_step ok
    else
        src=$home/odoo-$series
        if [ -f "$src/odoo-bin" ]; then
            done_step ok
        else
            rm -rf "$src.partial"
            git clone -q --depth 1 --branch "$odoo_ref" "$odoo_repo" "$src.partial" 2>&1 | tail -3 >&2 \
                && [ -f "$src.partial/odoo-bin" ] \
                || fail "cannot clone $odoo_repo at $odoo_ref" \
                    "check the network, or set ODOO_SRC to an Odoo $series checkout (or ODOO_REPO to a reachable copy)"
            mv "$src.partial" "$src"
            done_step "cloned $odoo_repo at $odoo_ref"
        fi
    fi
    got=$(sed -n "s/^version_info = (\([0-9]*\), *\([0-9]*\),.*/\1.\2/p" "$src/odoo/release.py" 2> /dev/null)
    [ "$got" = "$series" ] || fail "$src holds Odoo ${got:-?}, not $series" "set ODOO_SRC to an Odoo $series checkout"
    if [ "$source_only" = "--source-only" ]; then
        echo "source: $src"
        exit 0
    fi

    step "virtual environment"
    if [ -x "$python" ]; then
        done_step ok
    else
        "${AI_USAGE_BASE_PYTHON:-python3}" -m venv "$venv" || fail "python3 -m venv failed" "install python3-venv"
        done_step "made $venv"
    fi

    step "Odoo's requirements and Odoo"
    # What the environment was made from; when it is unchanged, nothing is installed.
    stamp="requirements=$(sha256sum < "$src/requirements.txt" | cut -c1-16)
src=$src"
    if [ "$(cat "$venv/.ai_usage_setup" 2> /dev/null)" = "$stamp" ] && [ "$(series_of "$python")" = "$series" ]; then
        done_step ok
    else
        # Some pinned requirements (e.g. gevent, psycopg2 of Debian's era) build only
        # with setuptools < 70.
        constraint=$home/constraints.txt
        echo "setuptools<70" > "$constraint"
        log=$home/pip-$series.log
        {
            PIP_CONSTRAINT=$constraint PIP_BUILD_CONSTRAINT=$constraint "$python" -m pip install -q --upgrade pip wheel "setuptools<70" \
                && PIP_CONSTRAINT=$constraint PIP_BUILD_CONSTRAINT=$constraint "$python" -m pip install -q -r "$src/requirements.txt" \
                && "$python" -m pip install -q --no-build-isolation --no-deps -e "$src"
        } > "$log" 2>&1 || fail "pip could not install Odoo's requirements (the last lines of $log:
$(tail -5 "$log"))" "check the network and the system libraries, then run this again"
        [ "$(series_of "$python")" = "$series" ] || fail "the environment does not import Odoo $series" "see $log"
        echo "$stamp" > "$venv/.ai_usage_setup"
        done_step "installed Odoo $series from $src"
    fi
fi

step "test dependencies"
# keyed by the interpreter and the requirement files, so that a change to either installs again
mkdir -p "$home"
test_stamp=$home/test-deps-$series.stamp
wanted="$(cat "$addon_dir/scripts/requirements-test.txt" "$addon_dir/scripts/requirements-test-nodeps.txt" \
    | sha256sum | cut -c1-16) $python"
if [ "$(cat "$test_stamp" 2> /dev/null)" = "$wanted" ]; then
    done_step ok
else
    log=$home/pip-test-$series.log
    { "$python" -m pip install -q -r "$addon_dir/scripts/requirements-test.txt" \
        && "$python" -m pip install -q --no-deps -r "$addon_dir/scripts/requirements-test-nodeps.txt"; } > "$log" 2>&1 \
        || fail "pip could not install the test dependencies (the last lines of $log:
$(tail -5 "$log"))" "check the network, then run this again"
    echo "$wanted" > "$test_stamp"
    done_step "installed"
fi

if [ "$changed" = 0 ]; then
    echo "setup $series: changed nothing"
else
    echo "setup $series: $changed steps changed something"
fi
echo "python: $python"
