#!/usr/bin/env bash
# Reads served by a PostgreSQL streaming replica (see scripts/bench_replica.py):
# a second cluster, copied from the first by pg_basebackup -R, on its own port;
# Odoo started with --db_replica_host/--db_replica_port; checks and figures.
# Usage: bash scripts/bench_replica.sh [18.0|19.0] [--calls N]
# Runs as root (the clusters are the postgres user's) or as postgres.
set -euo pipefail
series=
case "${1:-}" in 18.0|19.0) series=$1; shift ;; esac
source "$(dirname "$0")/odoo_env.sh"
db=${AI_USAGE_BENCH_DB:-ai_usage_log_replica}
port=${AI_USAGE_REPLICA_PORT:-5439}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
socket_dir=/var/run/postgresql
as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

replica_dir=$(mktemp -d -t ai_usage_replica.XXXXXX)
chown postgres: "$replica_dir"
chmod 700 "$replica_dir"
cleanup() {
    as_postgres "$pg_bin/pg_ctl" -D "$replica_dir" -m fast stop > /dev/null 2>&1 || true
    rm -rf "$replica_dir"
    dropdb --if-exists "$db" 2> /dev/null || true
}
trap cleanup EXIT

dropdb --if-exists "$db" 2> /dev/null
createdb "$db"
odoo_bin -d "$db" -i ai_usage_log "${no_demo_args[@]}" --stop-after-init --log-level=warn

echo "== replica: pg_basebackup -R of the cluster, on port $port"
as_postgres "$pg_bin/pg_basebackup" -D "$replica_dir/data" -R -X stream -c fast \
    -h "$socket_dir"
# Debian keeps a cluster's configuration outside its data directory
cat > "$replica_dir/postgresql.conf" << EOF
data_directory = '$replica_dir/data'
hba_file = '/etc/postgresql/$(basename "$(dirname "$pg_bin")")/main/pg_hba.conf'
ident_file = '/etc/postgresql/$(basename "$(dirname "$pg_bin")")/main/pg_ident.conf'
port = $port
unix_socket_directories = '$socket_dir'
listen_addresses = ''
hot_standby = on
max_connections = 100
EOF
chown postgres: "$replica_dir/postgresql.conf"
as_postgres "$pg_bin/pg_ctl" -D "$replica_dir" -l "$replica_dir/replica.log" -w start \
    > /dev/null

cd "$addon_dir/scripts"
"$odoo_python" bench_replica.py --db "$db" --addons-path "$addons_path" \
    --odoo-bin "$odoo_src/odoo-bin" --replica-host "$socket_dir" --replica-port "$port" \
    --logfile "$(mktemp -t ai_usage_bench_replica.XXXXXX.log)" "$@"
