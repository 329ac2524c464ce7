"""Export benchmark: Odoo's own CSV and XLSX export (what Usage Logs >
select > Export runs: ``export_data`` then the web controller's writer) of
the logs' list columns, at 100,000 rows, against 10,000 rows measured in
the same run as the baseline: seconds, the peak of Python memory, and the
per-row ratio (1.0: it scales linearly).

Run it through scripts/bench_scale.sh, which prepares the database:
    BENCH_SCRIPT=bench_export.py bash scripts/bench_scale.sh --rows 100000"""

import os
import sys
import time
import tracemalloc
from types import SimpleNamespace
from unittest.mock import patch

from odoo import api

sys.path.insert(0, os.path.dirname(__file__))
from bench_common import open_registry
from bench_scale import FILL_SQL, MODELS, REQUEST_TYPES

FIELDS = [
    "request_time", "service_id", "request_type", "model", "status",
    "input_tokens", "output_tokens", "total_tokens", "cost", "currency_id",
    "duration_ms", "error_code", "user_id", "partner_id",
]  # fmt: skip


def export(env, rows, writer):
    from odoo.addons.web.controllers import export as web_export

    logs = env["ai.usage.log"].search([], limit=rows, order="request_time desc")
    data = logs.export_data(FIELDS)["datas"]
    # the XLSX writer reads the currencies' decimals from the HTTP request's env
    with patch.object(web_export, "request", SimpleNamespace(env=env)):
        fields = [{"name": name, "type": logs._fields[name].type} for name in FIELDS]
        return writer.from_data(fields, FIELDS, data)


def measure(registry, rows, writer):
    """(seconds, peak MB of Python memory, file MB): timed in one run, the
    memory traced in another (tracing slows Python down threefold)."""
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        started = time.perf_counter()
        content = export(env, rows, writer)
        seconds = time.perf_counter() - started
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        tracemalloc.start()
        export(env, rows, writer)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return seconds, peak / 2**20, len(content) / 2**20


def main():
    args, registry = open_registry(rows=(int, 100_000))
    from odoo.addons.web.controllers.export import CSVExport, ExcelExport

    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        service = env["ai.service"].create(
            {"name": "Export bench", "api_base_url": "http://127.0.0.1:9/v1"}
        )
        cr.execute(
            FILL_SQL,
            {
                "rows": args.rows,
                "usd": env.ref("base.USD").id,
                "services": [service.id], "companies": [service.company_id.id],
                "service_count": 1,
                "users": [env.ref("base.user_admin").id], "user_count": 1,
                "models": MODELS, "model_count": len(MODELS),
                "types": REQUEST_TYPES, "type_count": len(REQUEST_TYPES),
            },
        )  # fmt: skip
    baseline_rows = max(args.rows // 10, 1)
    print(f"{'export':<8}{'rows':>10}{'seconds':>10}{'peak MB':>10}{'file MB':>10}"
          f"{'per-row ratio':>15}")  # fmt: skip
    for name, writer in (("CSV", CSVExport()), ("XLSX", ExcelExport())):
        base = measure(registry, baseline_rows, writer)
        full = measure(registry, args.rows, writer)
        for rows, (seconds, peak, size) in ((baseline_rows, base), (args.rows, full)):
            ratio = (seconds / rows) / (base[0] / baseline_rows)
            print(f"{name:<8}{rows:>10,}{seconds:>10.1f}{peak:>10.0f}{size:>10.1f}"
                  f"{ratio:>15.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
