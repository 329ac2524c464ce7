"""The SQL store of a call's log: its two writes (the start's INSERT, the
finish's UPDATE) as single statements built with the fields' own
conversions, and the start values of the calls this process started, so that
finishing one needs no query. Functions of the ai.usage.log model they
write (``logs``), in the cursor of their own transaction."""

import threading
from collections import OrderedDict

from odoo import fields
from odoo.exceptions import MissingError
from odoo.tools import SQL

from .models.ai_usage_log import error_rate_of

# What finishing a call needs to know of its start (company_currency_id: the
# currency of the log's company; price_provider: the catalogue its service
# prices from), as SQL on ai_usage_log.
START_VALUES = (
    "request_time",
    "model",
    "service_id",
    "company_id",
    "is_batch",
    "endpoint",
    "request_type",
    "provider",
    "company_currency_id",
    "price_provider",
)
START_COLUMNS = SQL(
    "request_time, model, service_id, company_id, is_batch, endpoint, request_type,"
    " provider, (SELECT currency_id FROM res_company"
    " WHERE res_company.id = ai_usage_log.company_id),"
    " (SELECT price_provider FROM ai_service"
    " WHERE ai_service.id = ai_usage_log.service_id)"
)


class _StartedCalls:
    """The start values of the calls this process started and has not
    finished:
    finishing a call then needs no query to read them back. Bounded; a call
    finished elsewhere (another worker, after a restart) reads them."""

    def __init__(self, size=10_000):
        self.size = size
        self.values = OrderedDict()
        self.lock = threading.Lock()

    def put(self, key, values):
        with self.lock:
            self.values[key] = values
            while len(self.values) > self.size:
                self.values.popitem(last=False)

    def take(self, key):
        with self.lock:
            return self.values.pop(key, None)


started_calls = _StartedCalls()


def column_values(logs, vals):
    """The SQL values of the log values ``vals``, by the fields' own
    conversions (the error rate, a stored compute, included)."""
    if "status" in vals:  # the SQL writes below skip the ORM's computes
        vals = dict(vals, error_rate=error_rate_of(vals["status"]))
    row = {
        name: logs._fields[name].convert_to_column(value, logs, vals)
        for name, value in vals.items()
    }
    if "error_rate" in row and (
        vals.get("request_type") == "test_connection"
        or vals.get("status") == "fallback"
    ):
        # an administrator's test is no production traffic, an attempt that
        # fell back no call of its own: NULL, which every average of the
        # error rate (pivot, dashboard) leaves out
        row["error_rate"] = None
    return row


def insert(logs, vals):
    """INSERT a log; return its id, and remember a started call's start values."""
    now = fields.Datetime.now()
    row = column_values(logs, vals)
    row.update(
        create_uid=logs.env.uid,
        write_uid=logs.env.uid,
        create_date=now,
        write_date=now,
    )
    # The row of a call that starts only marks it as started, and is made
    # durable by the synchronous commit that finishes the call: its own
    # commit need not wait for the disk. Others see it at once; only a
    # crash of PostgreSQL itself within a fraction of a second could lose
    # it, and then the end of the call records the call anew.
    started = vals.get("status") == "processing"
    logs.env.cr.execute(
        SQL(
            "%s INSERT INTO %s (%s) VALUES %s RETURNING id, %s",
            SQL("SET LOCAL synchronous_commit TO OFF;" if started else ""),
            SQL.identifier(logs._table),
            SQL(", ").join(SQL.identifier(name) for name in row),
            tuple(row.values()),
            START_COLUMNS,
        )
    )
    log_id, *values = logs.env.cr.fetchone()
    if started:  # a call that will be finished
        started_calls.put(
            (logs.env.cr.dbname, log_id), dict(zip(START_VALUES, values, strict=True))
        )
    return log_id


def update(logs, log_id, vals):
    """UPDATE log ``log_id``; MissingError when it is gone."""
    row = column_values(logs, vals)
    row.update(write_uid=logs.env.uid, write_date=fields.Datetime.now())
    logs.env.cr.execute(
        SQL(
            "UPDATE %s SET %s WHERE id = %s",
            SQL.identifier(logs._table),
            SQL(", ").join(
                SQL("%s = %s", SQL.identifier(name), value)
                for name, value in row.items()
            ),
            log_id,
        )
    )
    if not logs.env.cr.rowcount:
        raise MissingError(logs.env._("The usage log %s does not exist.", log_id))


def start_values(logs, log_id):
    """What finishing a log needs to know of its call: remembered when
    this process started it, else read in one query."""
    values = started_calls.take((logs.env.cr.dbname, log_id))
    if values:
        return values
    logs.env.cr.execute(
        SQL(
            "SELECT %s FROM %s WHERE id = %s",
            START_COLUMNS,
            SQL.identifier(logs._table),
            log_id,
        )
    )
    row = logs.env.cr.fetchone()
    if not row:
        raise MissingError(logs.env._("The usage log %s does not exist.", log_id))
    return dict(zip(START_VALUES, row, strict=True))
