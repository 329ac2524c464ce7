"""Odoo's multi-process server under logged AI calls (run by bench_workers.sh).

Starts Odoo with --workers=3 and a cron worker on the given database (or
--servers N such servers, two processes or more, with the clients spread
over them: every check below then holds across servers), the
fake OpenAI server of the tests on 127.0.0.1, and drives logged-in HTTP
clients through the three ways a call is made: the add-on's HTTP endpoint
(/ai_usage/call_summary), JSON-RPC (make_openai_api_call) and the openai SDK
(openai_client(), through the bench route of scripts/bench_addons). It prints
calls/s and latencies against a plain Odoo JSON-RPC request of the same run,
then checks, printing each check and a JSON summary as its last line:

- every answered call has exactly one log, every request OpenAI received
  has one, no call failed that the fake did not fail; the service counters
  equal what OpenAI received;
- a hard budget created through one worker refuses calls in every worker at
  once; a price edited through one worker prices the next call everywhere;
- the alert and summary crons, forced to run throughout the load in the cron
  worker, make no call fail;
- a worker killed (SIGKILL) while its calls wait for OpenAI leaves them
  processing, and the interrupted-calls action marks exactly those.

And a fair baseline: logged call summaries against the same work without the
add-on (the bench add-on's route: the same request to the fake provider, one
record created and committed), alternated by every client over the same
seconds.

Exit status 1 when a check fails."""

import json
import signal
import sys
import threading
import time
import uuid

import psutil
import psycopg2
import requests
from bench_common import (
    fake_openai_module,
    load_fake_server,
    open_registry,
    percentile,
    start_odoo,
    stop_odoo,
    wait_for_odoo,
)

PATHS = ("endpoint", "jsonrpc", "sdk")
PASSWORD = "bench-Password-1"
TRANSCRIPT = "Caller: when does my order arrive? Agent: on Friday, before noon."


class Client:
    """One logged-in browser session."""

    def __init__(self, base_url, db, login):
        self.base_url = base_url
        self.http = requests.Session()
        result, error = self.jsonrpc(
            "/web/session/authenticate",
            {"db": db, "login": login, "password": PASSWORD},
        )
        if error or not result:
            raise RuntimeError(f"cannot log in as {login}: {error}")
        self.uid = result["uid"]

    def jsonrpc(self, path, params):
        answer = self.http.post(
            self.base_url + path,
            json={"jsonrpc": "2.0", "method": "call", "id": 1, "params": params},
            timeout=120,
        ).json()
        return answer.get("result"), answer.get("error")

    def call_kw(self, model, method, args, kwargs=None):
        return self.jsonrpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def call(self, path, message_id):
        """Make one AI call; return 'ok', 'refused' or an error text."""
        if path == "jsonrpc":
            _result, error = self.call_kw(
                "ai.service",
                "make_openai_api_call",
                [[], "chat/completions"],
                {
                    "data": {"messages": [{"role": "user", "content": TRANSCRIPT}]},
                    "message_id": message_id,
                },
            )
            if not error:
                return "ok"
            name = (error.get("data") or {}).get("name", "")
            return "refused" if name.endswith("AiCallRefused") else json.dumps(error)
        url = (
            "/ai_usage/call_summary"
            if path == "endpoint"
            else "/ai_usage_bench/sdk_call"
        )
        body = {
            "message_id": message_id,
            "contact_id": "bench",
            "transcript": TRANSCRIPT,
        }
        if path == "sdk":
            body = {"message_id": message_id, "prompt": TRANSCRIPT}
        response = self.http.post(self.base_url + url, json=body, timeout=120)
        if response.status_code == 200:
            return "ok"
        if response.status_code == 429:
            return "refused"
        return f"HTTP {response.status_code}: {response.text[:300]}"

    def baseline(self, message_id):
        """The same call summary without the add-on (the bench add-on's
        route: the request, one record, one commit)."""
        response = self.http.post(
            self.base_url + "/ai_usage_bench/baseline",
            json={"message_id": message_id, "transcript": TRANSCRIPT},
            timeout=120,
        )
        return "ok" if response.ok else f"HTTP {response.status_code}"

    def plain(self):
        """A plain Odoo JSON-RPC request of about the same weight: read a record."""
        _result, error = self.call_kw("res.users", "read", [[self.uid], ["name"]])
        return "ok" if not error else json.dumps(error)


class Bench:
    def __init__(self, args, registry):
        self.args = args
        self.registry = registry
        self.fake = load_fake_server()
        self.checks = []
        self.figures = {}
        self.cron_runs = 0

    # -- set-up ------------------------------------------------------------
    def env(self, cr):
        from odoo import SUPERUSER_ID, api

        return api.Environment(cr, SUPERUSER_ID, {})

    def set_up(self):
        from odoo.addons.ai_usage_log.compat import add_to_group

        with self.registry.cursor() as cr:
            env = self.env(cr)
            service = env["ai.service"].create(
                {
                    "name": "Bench OpenAI",
                    "api_base_url": self.fake.url,
                    "api_key": "sk-bench-0123456789abcdef",
                    "default_model": "gpt-4o-mini",
                    "timeout": self.args.hold + 6,
                    "max_retries": 0,
                }
            )
            self.service_id = service.id
            self.logins = []
            for number in range(self.args.clients):
                login = f"bench_user_{number}"
                user = env["res.users"].create(
                    {"name": login, "login": login, "password": PASSWORD}
                )
                add_to_group(env.ref("ai_usage_log.group_ai_usage_user"), user)
                self.logins.append(login)
            admin = env.ref("base.user_admin")
            admin.password = PASSWORD
            env["ir.config_parameter"].set_param(
                "ai_usage_log.interrupted_margin_seconds", "1"
            )
            self.crons = tuple(
                env.ref(f"ai_usage_log.{name}").id
                for name in ("ir_cron_check_alerts", "ir_cron_refresh_daily_summary")
            )

    def start_odoo(self):
        """Start ``--servers`` Odoo servers on the database, each with 3 HTTP
        workers (the first also runs the cron worker)."""
        self.servers, self.base_urls = [], []
        for number in range(self.args.servers):
            server, base_url = start_odoo(
                self.args, f"{self.args.logfile}.{number}", "--workers=3",
                f"--max-cron-threads={1 if number == 0 else 0}",
                "--limit-time-real=300", "--limit-time-cpu=120",
            )  # fmt: skip
            self.servers.append(server)
            self.base_urls.append(base_url)
        self.base_url = self.base_urls[0]
        wait_for_odoo(self.base_urls, self.args.logfile)

    def stop_odoo(self):
        stop_odoo(self.servers)

    def http_workers(self):
        """The worker processes of the servers (HTTP and cron)."""
        return [
            worker
            for server in self.servers
            for worker in psutil.Process(server.pid).children()
        ]

    # -- helpers -----------------------------------------------------------
    def check(self, name, ok, detail=""):
        self.checks.append({"check": name, "ok": bool(ok), "detail": detail})
        print(f"{'ok' if ok else 'FAILED'}: {name}{f' ({detail})' if detail else ''}")

    def sql(self, query, params=()):
        with self.registry.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall() if cr.description else None

    def run_clients(self, work, seconds=None, rounds=None):
        """Run ``work(client, index)`` in one thread per client, for
        ``seconds`` or ``rounds``; return [(result, latency ms)]."""
        results, lock = [], threading.Lock()
        stop = time.monotonic() + (seconds or 0)

        def loop(client):
            index = 0
            while (rounds is not None and index < rounds) or (
                rounds is None and time.monotonic() < stop
            ):
                started = time.perf_counter()
                try:
                    outcome = work(client, index)
                except Exception as error:  # noqa: BLE001 - a failure to report
                    outcome = (None, repr(error))
                with lock:
                    results.append((outcome, (time.perf_counter() - started) * 1000))
                index += 1

        threads = [threading.Thread(target=loop, args=(c,)) for c in self.clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    # -- phases ------------------------------------------------------------
    def load(self):
        """Calls through the three paths while the crons are forced to run;
        then the same time of plain Odoo requests."""
        self.answered = {}  # message id: path
        stop_crons, crons_running = threading.Event(), threading.Event()
        cron_runs = threading.Thread(
            target=self.force_crons, args=(stop_crons, crons_running)
        )
        cron_runs.start()
        # the cron worker first runs whatever else is due on a new database:
        # the load starts once the forced crons do run
        crons_running.wait(timeout=60)
        started = time.monotonic()

        def ai_call(client, index):
            path = PATHS[(index + client.uid) % len(PATHS)]
            message_id = f"bench-{uuid.uuid4().hex}"
            return path, message_id, client.call(path, message_id)

        calls = self.run_clients(ai_call, seconds=self.args.duration)
        elapsed = time.monotonic() - started
        stop_crons.set()
        cron_runs.join()
        plain_started = time.monotonic()
        plain = self.run_clients(lambda c, _i: c.plain(), seconds=self.args.duration)
        plain_elapsed = time.monotonic() - plain_started

        failures = [o for o, _ms in calls if o[0] is None or o[2] != "ok"]
        for (path, message_id, outcome), _ms in calls:
            if path and outcome == "ok":
                self.answered[message_id] = path
        ai_ms = [ms for _o, ms in calls]
        plain_ms = [ms for _o, ms in plain]
        self.figures.update(
            calls=len(calls),
            calls_per_s=round(len(calls) / elapsed, 1),
            p50_ms=round(percentile(ai_ms, 0.5), 1),
            p95_ms=round(percentile(ai_ms, 0.95), 1),
            plain_requests_per_s=round(len(plain) / plain_elapsed, 1),
            plain_p50_ms=round(percentile(plain_ms, 0.5), 1),
            plain_p95_ms=round(percentile(plain_ms, 0.95), 1),
        )
        self.figures["p50_ratio"] = round(
            self.figures["p50_ms"] / self.figures["plain_p50_ms"], 2
        )
        self.check(
            "no call failed during the load (crons forced to run every second)",
            not failures and self.cron_runs > 0,
            f"{len(calls)} calls, {len(failures)} failed, crons run {self.cron_runs}x"
            + (f": {failures[:3]}" if failures else ""),
        )
        ai_requests = len(self.fake.received("/v1/chat/completions"))
        logged = dict(
            self.sql(
                "SELECT message_id, count(*) FROM ai_usage_log"
                " WHERE message_id LIKE 'bench-%%' GROUP BY message_id"
            )
        )
        once = all(logged.get(mid) == 1 for mid in self.answered)
        self.check(
            "every answered call has exactly one log",
            once and len(self.answered) == len(calls),
            f"{len(self.answered)} answered, {sum(logged.values())} logs",
        )
        self.check(
            "every request OpenAI received has a log",
            ai_requests == sum(logged.values()),
            f"{ai_requests} received, {sum(logged.values())} logged",
        )
        [(counted,)] = self.sql(
            "SELECT count(*) FROM ai_usage_log"
            " WHERE service_id = %s AND status = 'success'",
            [self.service_id],
        )
        admin = self.admin
        [service] = admin.call_kw(
            "ai.service", "read", [[self.service_id], ["usage_count"]]
        )[0]
        self.check(
            "the service counter equals what OpenAI received",
            service["usage_count"] == ai_requests == counted,
            f"counter {service['usage_count']}, received {ai_requests}",
        )

    def fair_baseline(self):
        """Logged call summaries and the same work without the add-on, each
        client alternating the two over the same seconds (same load, same
        moment): the overhead of logging a call."""

        def work(client, index):
            message_id = f"fair-{uuid.uuid4().hex}"
            if index % 2:
                return "baseline", client.baseline(message_id)
            return "logged", client.call("endpoint", message_id)

        results = self.run_clients(work, seconds=self.args.duration)
        timings = {"logged": [], "baseline": []}
        failed = 0
        for outcome, ms in results:
            if outcome[0] in timings and outcome[1] == "ok":
                timings[outcome[0]].append(ms)
            else:
                failed += 1
        logged = percentile(timings["logged"], 0.5)
        baseline = percentile(timings["baseline"], 0.5)
        self.figures.update(
            fair_logged_p50_ms=round(logged, 1),
            fair_baseline_p50_ms=round(baseline, 1),
            fair_ratio=round(logged / baseline, 2),
        )
        self.check(
            "every call of the fair comparison answered",
            not failed,
            f"{len(timings['logged'])} logged, {len(timings['baseline'])} without"
            f" the add-on, {failed} failed",
        )

    def force_crons(self, stop, running):
        """Make the alert and summary crons due every second; count their
        runs, and set ``running`` at the first."""
        from odoo import sql_db

        query = "SELECT id, lastcall FROM ir_cron WHERE id IN %s"
        before = set(self.sql(query, [self.crons]))
        seen = set()
        while not stop.is_set():
            seen.update(self.sql(query, [self.crons]))
            if seen - before:
                running.set()
            try:
                self.sql(
                    "UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC')"
                    " - interval '1 minute' WHERE id IN %s",
                    [self.crons],
                )
            except psycopg2.errors.SerializationFailure:
                pass  # the cron worker is updating it: it runs anyway
            # the cron worker listens on the postgres database, as Odoo notifies it
            with sql_db.db_connect("postgres").cursor() as cr:
                cr.execute("SELECT pg_notify('cron_trigger', %s)", [self.args.db])
            stop.wait(1.0)
        seen.update(self.sql(query, [self.crons]))
        self.cron_runs = len({(cron, last) for cron, last in seen - before if last})

    def budget_and_price_everywhere(self):
        """Configuration changed through one worker holds in all of them."""
        admin = self.admin
        budget_id, error = admin.call_kw(
            "ai.usage.budget",
            "create",
            [{"name": "Bench stop", "limit_tokens": 1, "hard_limit": True}],
        )
        assert not error, error
        results = self.run_clients(
            lambda c, i: c.call(PATHS[i], f"bench-budget-{uuid.uuid4().hex}"),
            rounds=len(PATHS),
        )
        outcomes = [outcome for outcome, _ms in results]
        self.check(
            "a hard budget created in one worker refuses the next call in every worker"
            " of every server",
            outcomes and all(o == "refused" for o in outcomes),
            f"{outcomes.count('refused')} of {len(outcomes)} refused",
        )
        admin.call_kw("ai.usage.budget", "unlink", [[budget_id]])

        [(price_id,)] = self.sql(
            "SELECT id FROM ai_model_price WHERE model_name = 'gpt-4o-mini'"
            " AND price_tier = 'standard' AND service_id IS NULL"
            " ORDER BY date_from DESC LIMIT 1"
        )
        _done, error = admin.call_kw(
            "ai.model.price", "write", [[price_id], {"input_price": 1234.5}]
        )
        assert not error, error
        results = self.run_clients(
            lambda c, i: c.call(PATHS[i], f"bench-price-{uuid.uuid4().hex}"),
            rounds=len(PATHS),
        )
        prices = self.sql(
            "SELECT price_input, price_id FROM ai_usage_log"
            " WHERE message_id LIKE 'bench-price-%%'"
        )
        self.check(
            "a price edited in one worker prices the next call in every worker"
            " of every server",
            len(prices) == len(results) and all(p == 1234.5 for p, _id in prices),
            f"{len(prices)} calls at (price, row) {sorted(set(prices))}, "
            f"edited row {price_id}",
        )

    def kill_a_worker(self):
        """SIGKILL the workers whose calls wait for OpenAI."""
        held = 2  # fewer than the workers: the others go on serving
        self.fake.script(*[self.fake_reply(hold=True) for _ in range(held)])
        before = dict(
            self.sql("SELECT status, count(*) FROM ai_usage_log GROUP BY status")
        )
        received_before = len(self.fake.received("/v1/chat/completions"))
        # their answers are lost with the worker: only the logs are checked
        threads = [
            threading.Thread(
                target=lambda c=c: safe(
                    lambda: c.call("endpoint", f"bench-kill-{uuid.uuid4().hex}")
                )
            )
            for c in self.clients[:held]
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while (
            len(self.fake.received("/v1/chat/completions")) < received_before + held
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        # the workers whose connection to OpenAI carries a held request
        held_ports = {
            request["client_port"]
            for request in self.fake.received("/v1/chat/completions")[received_before:]
        }
        victims = []
        for worker in self.http_workers():
            try:
                connections = worker.connections("tcp")
            except psutil.NoSuchProcess:
                continue
            if any(conn.laddr.port in held_ports for conn in connections):
                victims.append(worker)
        pids = [server.pid for server in self.servers]
        servers = sorted({pids.index(worker.ppid()) + 1 for worker in victims})
        for worker in victims:
            worker.send_signal(signal.SIGKILL)
        for thread in threads:
            thread.join()
        kill_logs = self.sql(
            "SELECT status FROM ai_usage_log WHERE message_id LIKE 'bench-kill-%%'"
        )
        self.check(
            "a killed worker leaves its calls processing",
            victims
            and len(kill_logs) == held
            and all(status == "processing" for (status,) in kill_logs),
            f"{len(victims)} worker(s) killed (of servers {servers}), logs"
            f" {sorted(s for (s,) in kill_logs)}",
        )
        time.sleep(self.args.hold + 6 + 1 + 1)  # the service timeout and the margin
        # the cron worker may have marked them already: what counts is the end
        with self.registry.cursor() as cr:
            self.env(cr)["ai.usage.log"]._cron_mark_interrupted()
        after = dict(
            self.sql("SELECT status, count(*) FROM ai_usage_log GROUP BY status")
        )
        errors = self.sql(
            "SELECT DISTINCT error_code FROM ai_usage_log"
            " WHERE message_id LIKE 'bench-kill-%%'"
        )
        expected = dict(before)
        expected["failed"] = expected.get("failed", 0) + held
        self.check(
            "the interrupted-calls action marks them; no other log lost or doubled",
            errors == [("interrupted",)] and after == expected,
            f"statuses before {before}, after {after}",
        )

    def fake_reply(self, hold):
        fake = fake_openai_module()
        return fake.Reply(
            body=fake.chat_completion("gpt-4o-mini", fake.chat_usage(20, 10)),
            delay=self.args.hold if hold else 0,
        )

    def run(self):
        self.set_up()
        self.start_odoo()
        try:
            # the load spread over the servers: client n on server n mod N
            self.clients = [
                Client(self.base_urls[n % len(self.base_urls)], self.args.db, login)
                for n, login in enumerate(self.logins)
            ]
            self.admin = Client(self.base_url, self.args.db, "admin")
            self.load()
            self.fair_baseline()
            self.budget_and_price_everywhere()
            self.kill_a_worker()
        finally:
            self.stop_odoo()
            self.fake.stop()
        print(
            f"\n{self.figures['calls']} logged calls in {self.args.duration} s with "
            f"{self.args.clients} clients, {self.args.servers} server(s) of 3 workers: "
            f"{self.figures['calls_per_s']} calls/s, p50 {self.figures['p50_ms']} ms, "
            f"p95 {self.figures['p95_ms']} ms\n"
            f"plain Odoo JSON-RPC (read a record), same clients: "
            f"{self.figures['plain_requests_per_s']} requests/s, "
            f"p50 {self.figures['plain_p50_ms']} ms, "
            f"p95 {self.figures['plain_p95_ms']} ms"
            f"\np50 ratio (logged AI call / plain request): {self.figures['p50_ratio']}"
            f"\nthe same call summary logged and without the add-on, alternated: "
            f"p50 {self.figures['fair_logged_p50_ms']} ms and "
            f"{self.figures['fair_baseline_p50_ms']} ms, "
            f"ratio {self.figures['fair_ratio']} (target <= 1.3)"
        )
        ok = all(check["ok"] for check in self.checks)
        print(json.dumps({"ok": ok, "figures": self.figures, "checks": self.checks}))
        return 0 if ok else 1


def safe(function):
    try:
        return function()
    except Exception as error:  # noqa: BLE001 - the killed worker's clients
        return repr(error)


def main():
    args, registry = open_registry(
        odoo_bin=(str, None),
        logfile=(str, "/tmp/ai_usage_bench_workers.log"),
        clients=(int, 6),
        servers=(int, 1),
        duration=(float, 20.0),
        hold=(float, 4.0),
    )
    sys.exit(Bench(args, registry).run())


if __name__ == "__main__":
    main()
