"""Screenshots of a running Odoo with ai_usage_log, for the README.

Usage: python3 scripts/screenshots.py [--url http://localhost:8069] [--db DB]
(the database defaults to the one scripts/serve_demo.sh serves at that URL)
Needs Debian's chromium and PyPI's websocket-client (both test dependencies).
Logs in as admin / admin (and as the demo employee, demo / demo, for the
employee's view), then drives headless Chromium through its DevTools
protocol and writes PNG files to static/description/screenshots/."""

import argparse
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time

import requests
import websocket

ACTION = "/odoo/action-ai_usage_log."
# (file name, path, login)
PAGES = [
    ("dashboard", ACTION + "action_ai_usage_dashboard", "admin"),
    ("usage_logs", ACTION + "action_ai_usage_log", "admin"),
    ("pivot", ACTION + "action_ai_usage_log_analysis", "admin"),
    ("cost_by_model", ACTION + "action_ai_usage_log_cost_by_model", "admin"),
    ("service_form", ACTION + "action_ai_service/{service_id}", "admin"),
    ("budgets", ACTION + "action_ai_usage_budget", "admin"),
    ("reconciliation", ACTION + "action_ai_usage_reconciliation", "admin"),
    ("employee_dashboard", ACTION + "action_ai_usage_dashboard", "demo"),
]


def session_id(url, db, login):
    """A session of ``login`` (its password: the login, as in demo data)."""
    session = requests.Session()
    session.post(
        f"{url}/web/session/authenticate",
        timeout=30,
        json={
            "jsonrpc": "2.0",
            "params": {"db": db, "login": login, "password": login},
        },
    )
    return session.cookies["session_id"]


class DevTools:
    def __init__(self, port):
        for _ in range(50):
            try:
                targets = requests.get(
                    f"http://127.0.0.1:{port}/json", timeout=2
                ).json()
                page = next(t for t in targets if t["type"] == "page")
                break
            except (requests.ConnectionError, StopIteration):
                time.sleep(0.2)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(
            json.dumps({"id": self.next_id, "method": method, "params": params})
        )
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                return message.get("result", {})


def demo_database(url):
    """The database serve_demo.sh made, as the server lists it (it serves that one)."""
    answer = requests.post(
        url + "/web/database/list", json={"jsonrpc": "2.0", "params": {}}, timeout=30
    ).json()
    names = [
        name
        for name in answer.get("result", [])
        if name.startswith("ai_usage_log_demo")
    ]
    if len(names) != 1:
        raise SystemExit(
            f"{url} serves {names or 'no demo database'}: name one with --db"
        )
    return names[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://localhost:8069")
    parser.add_argument(
        "--db", help="default: the server's ai_usage_log_demo_* database"
    )
    parser.add_argument("--service-id", type=int, default=1)
    parser.add_argument(
        "--out",
        default=os.path.join(
            os.path.dirname(__file__), "..", "static", "description", "screenshots"
        ),
    )
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    args.db = args.db or demo_database(args.url)

    sessions = {who: session_id(args.url, args.db, who) for *_, who in PAGES}

    profile = tempfile.mkdtemp()
    port = 9333
    browser = subprocess.Popen(
        [
            shutil.which("chromium") or "chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--remote-debugging-port={port}",
            "--window-size=1440,900",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        tools = DevTools(port)
        tools.call("Network.enable")
        tools.call(
            "Network.setCookie",
            name="session_id",
            value=sessions["admin"],
            url=args.url,
        )
        tools.call(
            "Page.navigate", url=f"{args.url}/odoo"
        )  # the first load builds the assets
        time.sleep(15)
        for name, path, login in PAGES:
            tools.call(
                "Network.setCookie",
                name="session_id",
                value=sessions[login],
                url=args.url,
            )
            tools.call(
                "Page.navigate", url=args.url + path.format(service_id=args.service_id)
            )
            time.sleep(4)  # the web client loads its assets, then the view its data
            shot = tools.call("Page.captureScreenshot", format="png")
            target = os.path.join(args.out, f"{name}.png")
            with open(target, "wb") as image:
                image.write(base64.b64decode(shot["data"]))
            print(target)
    finally:
        browser.terminate()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
