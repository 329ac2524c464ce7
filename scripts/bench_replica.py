"""Reads from a PostgreSQL streaming replica (run by bench_replica.sh, which
makes the replica).

Starts Odoo (two HTTP workers) with --db_replica_host/--db_replica_port,
makes logged AI calls against the fake OpenAI server of the tests, then:

- reads what people and monitoring read (the usage API by day and month,
  the metrics, the dashboard, the Usage Analysis pivot) and counts, on each
  PostgreSQL server, the scans of the add-on's tables that served them:
  all on the replica, none on the primary;
- makes calls one by one: each log is on the primary when the call returns,
  and on the replica after its lag (measured, p50 and max); and whether the
  usage API, read right after a call, already counts it.

Prints each check and the figures; exit status 1 when a check fails."""

import statistics
import sys
import time

import psycopg2
import requests
from bench_common import (
    load_fake_server,
    open_registry,
    start_odoo,
    stop_odoo,
    wait_for_odoo,
)
from bench_workers import PASSWORD, TRANSCRIPT, Client

TABLES = (
    "ai_usage_log",
    "ai_usage_log_daily",
    "ai_usage_log_local",
    "ai_usage_log_contact",
)
METRICS_TOKEN = "bench-metrics-token"


class ReplicaBench:
    def __init__(self, args, registry):
        self.args = args
        self.registry = registry
        self.fake = load_fake_server()
        self.checks = []
        self.figures = {}
        self.primary = psycopg2.connect(dbname=args.db)
        self.replica = psycopg2.connect(
            dbname=args.db, host=args.replica_host, port=args.replica_port
        )
        for connection in (self.primary, self.replica):
            connection.autocommit = True

    def check(self, name, ok, detail=""):
        self.checks.append(bool(ok))
        print(f"{'ok' if ok else 'FAILED'}: {name}{f' ({detail})' if detail else ''}")

    @staticmethod
    def query(connection, sql, params=()):
        with connection.cursor() as cr:
            cr.execute(sql, params)
            return cr.fetchall()

    def scans(self, connection):
        """Scans of the add-on's tables on one server, since it started."""
        [(count,)] = self.query(
            connection,
            "SELECT COALESCE(sum(COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0)), 0)"
            " FROM pg_stat_user_tables WHERE relname IN %s",
            (TABLES,),
        )
        return int(count)

    def set_up(self):
        from odoo import SUPERUSER_ID, api

        from odoo.addons.ai_usage_log.compat import add_to_group

        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["ai.service"].create(
                {
                    "name": "Bench OpenAI",
                    "api_base_url": self.fake.url,
                    "api_key": "sk-bench-0123456789abcdef",
                    "default_model": "gpt-4o-mini",
                    "max_retries": 0,
                }
            )
            user = env["res.users"].create(
                {"name": "bench_user", "login": "bench_user", "password": PASSWORD}
            )
            add_to_group(env.ref("ai_usage_log.group_ai_usage_user"), user)
            env.ref("base.user_admin").password = PASSWORD
            env["ir.config_parameter"].set_param(
                "ai_usage_log.metrics_token", METRICS_TOKEN
            )

    def start_odoo(self):
        self.server, self.base_url = start_odoo(
            self.args, self.args.logfile,
            f"--db_replica_host={self.args.replica_host}",
            f"--db_replica_port={self.args.replica_port}",
            "--workers=2", "--max-cron-threads=0",
        )  # fmt: skip
        wait_for_odoo([self.base_url], self.args.logfile)

    def stop_odoo(self):
        """Its connections closed: each server has counted their scans."""
        stop_odoo([self.server])
        time.sleep(1.5)  # a closing backend's statistics, published

    def status(self, connection, message_id):
        rows = self.query(
            connection,
            "SELECT status FROM ai_usage_log WHERE message_id = %s",
            (message_id,),
        )
        return rows[0][0] if rows else None

    def replay(self, message_id, since, deadline=10.0):
        """Seconds from ``since`` until the log of ``message_id`` is finished
        on the replica."""
        while time.perf_counter() - since < deadline:
            if self.status(self.replica, message_id) == "success":
                return time.perf_counter() - since
            time.sleep(0.0005)
        return None

    def call(self, client, number):
        """One logged call; its message id."""
        message_id = f"replica-{number}"
        client.http.post(
            self.base_url + "/ai_usage/call_summary",
            json={"message_id": message_id, "transcript": TRANSCRIPT},
            timeout=60,
        ).raise_for_status()
        return message_id

    def reads(self, admin, user):
        """What people and monitoring read, each a few times."""
        from odoo.addons.ai_usage_log.compat import web_pivot_calls

        metrics = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        failures = []
        for _round in range(5):
            for client in (admin, user):
                for path in ("/ai_usage/usage/daily", "/ai_usage/usage/monthly"):
                    if not client.http.get(self.base_url + path, timeout=60).ok:
                        failures.append(path)
                _result, error = client.call_kw(
                    "ai.usage.dashboard", "get_dashboard_data", []
                )
                if error:
                    failures.append(f"dashboard: {error}")
                # the Usage Analysis pivot, as the version's web client asks
                for method, kwargs in web_pivot_calls(
                    [], [(), ("model",)], ["total_tokens:sum", "cost_company:sum"]
                ):
                    _result, error = client.call_kw("ai.usage.log", method, [], kwargs)
                    if error:
                        failures.append(f"pivot: {error}")
            answer = requests.get(
                self.base_url + "/ai_usage/metrics", headers=metrics, timeout=60
            )
            if not answer.ok:
                failures.append(f"metrics: {answer.status_code}")
        return failures

    def run(self):
        self.set_up()
        self.start_odoo()
        admin = Client(self.base_url, self.args.db, "admin")
        user = Client(self.base_url, self.args.db, "bench_user")
        for number in range(20):  # logs to read
            self.call(user, number)
        self.stop_odoo()

        before = self.scans(self.primary), self.scans(self.replica)
        self.start_odoo()
        admin = Client(self.base_url, self.args.db, "admin")
        user = Client(self.base_url, self.args.db, "bench_user")
        failures = self.reads(admin, user)
        self.stop_odoo()
        primary, replica = (
            self.scans(self.primary) - before[0],
            self.scans(self.replica) - before[1],
        )
        self.check("every read answered", not failures, "; ".join(failures[:3]))
        self.check(
            "the reads were served by the replica",
            replica > 0 and primary == 0,
            f"scans of the add-on's tables: {replica} on the replica,"
            f" {primary} on the primary",
        )
        self.figures["scans on the replica"] = replica
        self.figures["scans on the primary"] = primary

        self.start_odoo()
        user = Client(self.base_url, self.args.db, "bench_user")
        lags, on_primary, counted_at_once, calls = [], 0, 0, self.args.calls
        for number in range(calls):
            message_id = self.call(user, 1000 + number)
            returned = time.perf_counter()
            on_primary += self.status(self.primary, message_id) == "success"
            lag = self.replay(message_id, returned)
            lags.append(lag if lag is not None else float("inf"))
        for number in range(calls):
            self.call(user, 2000 + number)
            # what the caller's next read shows: the usage API, from the replica
            usage = user.http.get(self.base_url + "/ai_usage/usage/daily", timeout=60)
            [(total,)] = self.query(
                self.primary, "SELECT count(*) FROM ai_usage_log WHERE user_id = %s",
                (user.uid,),
            )  # fmt: skip
            counted = sum(row["requests"] for row in usage.json()["usage"])
            counted_at_once += counted == total
        self.stop_odoo()
        self.check(
            "every log is on the primary when its call returns",
            on_primary == calls,
            f"{on_primary} of {calls}",
        )
        self.check(
            "every log reaches the replica", all(lag < float("inf") for lag in lags)
        )
        p50 = statistics.median(lags) * 1000
        worst = max(lags) * 1000
        self.figures.update(
            {
                "replica lag p50 ms": round(p50, 1),
                "replica lag max ms": round(worst, 1),
                "usage read right after a call counts it": f"{counted_at_once}/{calls}",
            }
        )
        for name, value in self.figures.items():
            print(f"{name:<48}{value:>12}")
        return 0 if all(self.checks) else 1


def main():
    args, registry = open_registry(
        odoo_bin=(str, None),
        logfile=(str, "/tmp/ai_usage_bench_replica.log"),
        replica_host=(str, "/var/run/postgresql"),
        replica_port=(int, 5439),
        calls=(int, 50),
    )
    bench = ReplicaBench(args, registry)
    try:
        status = bench.run()
    finally:
        bench.fake.stop()
    sys.exit(status)


if __name__ == "__main__":
    main()
